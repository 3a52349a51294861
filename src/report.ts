/** User code threw: report it as the DOM does for event listeners, and go on. */
export function report(error: unknown): void {
  ;(globalThis as { reportError?: (e: unknown) => void }).reportError?.(error)
}
