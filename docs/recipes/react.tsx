'use client' // Next.js (App Router): hooks run in client components only; a server component renders this as a client island.
// A React hook for one event type. The subscription opens in useEffect, which never runs during
// server rendering (renderToString, Next.js, Remix): nothing opens on the server, and it closes
// when the component unmounts or the url or type changes.
import { useEffect, useState } from 'react'
import { subscribe, type State, type SubscribeOptions } from 'subwire'

export function useEvents<T>(url: string, type: string, options?: SubscribeOptions) {
  const [last, setLast] = useState<T>()
  const [state, setState] = useState<State>('connecting')
  useEffect(() => {
    const sub = subscribe<Record<string, T>>(url, { ...options, decode: 'json' })
    sub.on(type, (event) => setLast(event.data))
    sub.on('state', (change) => setState(change.state))
    return () => sub.close()
    // `options` is read when the subscription opens; pass a stable object (or none).
  }, [url, type])
  return { last, state }
}

export function LatestNotice({ url }: { url: string }) {
  const { last, state } = useEvents<{ text: string }>(url, 'notice')
  return (
    <p>
      {last?.text ?? 'no notice yet'} <small>({state})</small>
    </p>
  )
}
