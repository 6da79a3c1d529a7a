// The one way the pages ask the API: typed documents (src/gql/types.ts) POSTed to /graphql.
import type { TypedDocumentString } from '@/gql/types'
import { RefreshDocument } from '@/gql/types'
import { session, signIn, signOut } from './session'

/** A refusal from the API: its stable code and its Chinese message, as the user should read it. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

interface GraphQLResponse<T> {
  data?: T | null
  errors?: { message: string; extensions?: Record<string, unknown> }[]
}

export function authorization(token = session.token): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {}
}

async function post<TResult>(query: string, variables: unknown, token: string | null): Promise<TResult> {
  let response: Response
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authorization(token) },
      body: JSON.stringify({ query, variables: variables ?? {} }),
    })
  } catch {
    throw new ApiError('无法连接服务器，请检查网络后重试', 'NETWORK')
  }
  let body: GraphQLResponse<TResult>
  try {
    body = (await response.json()) as GraphQLResponse<TResult>
  } catch {
    throw new ApiError(`服务器返回异常（HTTP ${response.status}）`, `HTTP_${response.status}`)
  }
  const error = body.errors?.[0]
  if (error) {
    const code = typeof error.extensions?.code === 'string' ? error.extensions.code : null
    throw new ApiError(error.message, code, error.extensions ?? {})
  }
  if (!body.data) throw new ApiError('服务器没有返回数据', 'NO_DATA')
  return body.data
}

let refreshing: Promise<boolean> | null = null

/** Access tokens live minutes (ESV_ACCESS_TOKEN_MINUTES): trade the refresh token for a new one. */
export function refreshSession(): Promise<boolean> {
  if (!session.refreshToken) return Promise.resolve(false)
  refreshing ??= post<{ refresh: { accessToken: string; refreshToken: string; role: typeof session.role; displayName: string } }>(
    RefreshDocument.toString(), { refreshToken: session.refreshToken }, null)
    .then(({ refresh }) => {
      signIn({ ...session, token: refresh.accessToken, refreshToken: refresh.refreshToken, role: refresh.role,
        displayName: refresh.displayName })
      return true
    })
    .catch(() => false)
    .finally(() => { refreshing = null })
  return refreshing
}

export const LOGGED_OUT = 'esv:logged-out'

export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables?: TVariables,
): Promise<TResult> {
  try {
    return await post<TResult>(document.toString(), variables, session.token)
  } catch (error) {
    if (!(error instanceof ApiError) || !session.token || !['TOKEN_EXPIRED', 'TOKEN_INVALID'].includes(error.code ?? '')) throw error
    if (error.code === 'TOKEN_EXPIRED' && (await refreshSession())) {
      return post<TResult>(document.toString(), variables, session.token)
    }
    signOut()
    window.dispatchEvent(new Event(LOGGED_OUT))
    throw error
  }
}
