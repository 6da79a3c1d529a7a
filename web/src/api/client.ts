// The one way the pages ask the API: typed documents (src/gql/types.ts) POSTed to /graphql.
import type { TypedDocumentString } from '@/gql/types'
import { session } from './session'

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

export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: TVariables extends Record<string, never> ? [] : [TVariables]
): Promise<TResult> {
  let response: Response
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authorization() },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
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
