/**
 * User code threw: report it as the DOM does for event listeners, and go on. Where there is no
 * `reportError` (Node), it is written to the console: never lost, and never thrown into the event
 * loop (which would end a Node process).
 */
export function report(error: unknown): void {
  ;((globalThis as { reportError?: (e: unknown) => void }).reportError ?? console.error)(error)
}
