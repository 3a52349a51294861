// Types of nchan.mjs for the tests that use it.
export interface NchanNode {
  /** Through the node's TCP proxy: where a page connects. */
  origin: string
  /** Straight to nginx. */
  direct: string
  sub(channel: string): string
  poll(channel: string): string
  /** Drop every open connection to the node. */
  cut(): void
  /** The node is gone: nginx stopped, its proxy refusing. */
  stop(): Promise<void>
  errorLog(): Promise<string>
}

export interface Nchan {
  nodes: NchanNode[]
  redisPort: number
  /** Publish through node `index`; resolves with nchan's message id. */
  publish(index: number, channel: string, data: string): Promise<string>
  close(): Promise<void>
}

export function startNchan(options?: { nodes?: number }): Promise<Nchan>
export function freePort(): Promise<number>
export function waitForPort(port: number, ms?: number): Promise<void>
