// The transport that last worked for an endpoint, kept with an expiry so the next page load
// starts there instead of failing through the better ones again. `env.storage` is localStorage,
// or an in-memory map where storage is missing or blocked; a storage that throws (quota) is ignored.
import type { Env, TransportName } from './types'

/** The remembered transport of `endpoint`, when one was stored and has not expired. */
export function recall(storage: Env['storage'], endpoint: string, now: number): TransportName | undefined {
  try {
    const [name, until] = storage.getItem('subwire:' + endpoint)!.split(' ')
    if (Number(until) > now) return name as TransportName
  } catch {
    // nothing stored, or storage refused: no memory
  }
}

/** Remember `name` for `endpoint` until `until` (ms since the epoch). */
export function remember(storage: Env['storage'], endpoint: string, name: TransportName, until: number): void {
  try {
    storage.setItem('subwire:' + endpoint, `${name} ${until}`)
  } catch {
    // full or refused: the next page load negotiates again
  }
}
