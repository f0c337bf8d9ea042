// Lists read a page at a time, after a cursor. Between two pages the data may move (the scores
// are recomputed in the background, a sale changes a customer's order): a row already shown is
// not added again, so a list never holds one customer twice (nor breaks on a repeated key).

/** The rows shown, then the new page's rows not already among them. */
export function appendPage<T>(shown: readonly T[], page: readonly T[], id: (row: T) => number): T[] {
  const seen = new Set(shown.map(id));
  return [...shown, ...page.filter((row) => !seen.has(id(row)))];
}
