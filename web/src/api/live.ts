// Subscriptions over graphql-ws (graphql-transport-ws) at /graphql. One socket per tab, opened
// when the first subscription starts, re-opened forever after a network or server restart:
// screens run unattended for days. Each subscription resumes from its last cursor (`after`).
import { createClient, type Client } from 'graphql-ws'
import { ref } from 'vue'
import type { TypedDocumentString } from '@/gql/types'
import { session } from './session'

/** 'connecting' | 'open' | 'closed', for a status dot on the screens. */
export const liveState = ref<'connecting' | 'open' | 'closed'>('closed')

let client: Client | null = null

function socketUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.host}/graphql`
}

function liveClient(): Client {
  if (client) return client
  client = createClient({
    url: socketUrl(),
    lazy: true,
    keepAlive: 15_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // 1 s, 2 s, 4 s … capped at 30 s, with jitter so a hall of screens does not reconnect at once
    retryWait: async (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** retries) * (0.5 + Math.random() / 2))),
    // read at each (re)connect: a refreshed token is used from the next connection on
    connectionParams: () => (session.token ? { Authorization: `Bearer ${session.token}` } : {}),
    on: {
      connecting: () => (liveState.value = 'connecting'),
      connected: () => (liveState.value = 'open'),
      closed: () => (liveState.value = 'closed'),
    },
  })
  return client
}

export interface Subscription {
  stop(): void
}

/**
 * Subscribe to a typed document. `cursorOf` names the message's resume cursor: after a
 * reconnect the subscription starts again with `after` set to the last one seen, so nothing
 * is missed or repeated.
 */
export function subscribe<TResult, TVariables extends { after?: string | null }>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  onMessage: (data: TResult) => void,
  options: { cursorOf?: (data: TResult) => string | null | undefined; onError?: (error: unknown) => void } = {},
): Subscription {
  let stopped = false
  // graphql-ws sends this same payload again after a reconnect: keeping `after` current in it
  // resumes the subscription from the last message seen.
  const payload = { query: document.toString(), variables: { ...variables } as Record<string, unknown> }
  let dispose: (() => void) | null = null

  const start = () => {
    if (stopped) return
    dispose = liveClient().subscribe<TResult>(payload, {
      next: (message) => {
        if (!message.data) return
        const cursor = options.cursorOf?.(message.data)
        if (cursor) payload.variables.after = cursor
        onMessage(message.data)
      },
      error: (error) => {
        options.onError?.(error)
        // GraphQL errors (a refusal) are final; anything else is started again
        if (!stopped && !Array.isArray(error)) setTimeout(start, 2000)
      },
      complete: () => {
        if (!stopped) setTimeout(start, 2000)
      },
    })
  }
  start()
  return {
    stop() {
      stopped = true
      dispose?.()
    },
  }
}

/** Close the socket (on logout: the next subscription opens one with the new credentials). */
export function closeLive(): void {
  client?.dispose()
  client = null
  liveState.value = 'closed'
}
