// Reading an ErrorPayload from the core: the message that belongs next to one field.
import type { ErrorPayload } from './generated/ErrorPayload';

/** The message about one field, if the error has one. */
export function fieldMessage(error: ErrorPayload | null, field: string): string | undefined {
  return error?.fields.find((f) => f.field === field)?.message;
}
