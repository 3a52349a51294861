'use client' // Next.js (App Router): hooks run in client components only; a server component renders this as a client island.
// React with subwire/react: the hook opens the subscription when the component mounts (never
// during server rendering: renderToString, Next.js, Remix) and closes it on unmount.
import { useSubscription } from 'subwire/react'

export function LatestNotice({ url }: { url: string }) {
  const { value, state } = useSubscription<{ text: string }>(url, { events: 'notice', decode: 'json' })
  return (
    <p>
      {value?.text ?? 'no notice yet'} <small>({state})</small>
    </p>
  )
}

// A streamed answer (an LLM completion): a POST read once, to its end; `reduce` joins the tokens.
export function Answer({ prompt }: { prompt: string }) {
  const { value, state, error } = useSubscription('/api/complete', {
    method: 'POST',
    body: JSON.stringify({ prompt }),
    headers: { 'content-type': 'application/json' },
    initial: '',
    reduce: (text, event) => text + event.data,
  })
  if (error?.code === 'cut-off') return <p>{value} (the answer was cut off)</p>
  return <p aria-busy={state !== 'closed'}>{value}</p>
}
