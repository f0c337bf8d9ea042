// Keyboard moves between the tabs of a tab list (WAI-ARIA Authoring Practices, "Tabs with
// automatic activation"): arrows go to the previous or next tab and wrap around, Home and End
// to the first and last. Pure, so it is tested without a window.

/** The index of the tab a key moves to from `index` among `count` tabs; null for other keys. */
export function tabAfterKey(key: string, index: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return (index + 1) % count;
    case 'ArrowLeft':
    case 'ArrowUp':
      return (index - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
