/** Every request gives up after this long, so a hung backend never leaves a page loading. */
export const REQUEST_TIMEOUT_MS = 10_000

/**
 * A failed API call: `status` is the HTTP status, or null when no answer came (the server could
 * not be reached, or did not answer within REQUEST_TIMEOUT_MS: then `timedOut` is true).
 */
export class ApiError extends Error {
  readonly status: number | null
  readonly timedOut: boolean

  constructor(status: number | null, message: string, timedOut = false) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.timedOut = timedOut
  }
}

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(null, String(error))
}

export function agentsBaseUrl(): string {
  return (import.meta.env.VITE_AGENTS_BASE_URL ?? '').replace(/\/+$/, '')
}

export function authBaseUrl(): string {
  return (import.meta.env.VITE_AUTH_BASE_URL ?? '').replace(/\/+$/, '')
}

async function detailOf(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json()
    if (body && typeof body === 'object' && 'detail' in body) {
      const detail = (body as { detail: unknown }).detail
      if (typeof detail === 'string') return detail
    }
  } catch {
    // Not JSON: fall back to the status text.
  }
  return response.statusText || `HTTP ${response.status}`
}

export interface RequestOptions extends Omit<RequestInit, 'signal'> {
  /** Sent as `Authorization: Bearer …` (never in the URL). */
  token?: string | null
  /** Which service: the agents API (history) or auth (Shopify, sign-out). */
  service?: 'agents' | 'auth'
  /** Cancels the request (TanStack Query passes one when a query is no longer needed). */
  signal?: AbortSignal
  /**
   * false: the deadline covers the answer's headers only, not its body (the export streams
   * a whole history, which may rightly take longer than the deadline).
   */
  deadlineCoversBody?: boolean
}

/**
 * A deadline of REQUEST_TIMEOUT_MS joined with the caller's signal. `finish()` must be called
 * when the work it guards is over.
 */
function deadline(outer: AbortSignal | undefined) {
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, REQUEST_TIMEOUT_MS)
  const onAbort = () => controller.abort()
  if (outer?.aborted) controller.abort()
  else outer?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    finish: () => {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onAbort)
    },
  }
}

const SECONDS = REQUEST_TIMEOUT_MS / 1000

function failure(timedOut: boolean): ApiError {
  return timedOut
    ? new ApiError(null, `HireCJ did not answer within ${SECONDS} seconds.`, true)
    : new ApiError(null, 'Could not reach the server.')
}

async function send(
  path: string,
  options: RequestOptions,
  signal: AbortSignal,
  timedOut: () => boolean,
): Promise<Response> {
  const { token, service = 'agents', signal: _outer, deadlineCoversBody: _body, ...init } = options
  const headers = new Headers(init.headers)
  if (token) headers.set('Authorization', `Bearer ${token}`)
  if (!headers.has('Accept')) headers.set('Accept', 'application/json')
  const base = service === 'auth' ? authBaseUrl() : agentsBaseUrl()
  let response: Response
  try {
    response = await fetch(`${base}${path}`, { ...init, headers, signal })
  } catch {
    throw failure(timedOut())
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response))
  return response
}

/**
 * One request whose answer is read by `read` (JSON, a Blob…), all within REQUEST_TIMEOUT_MS.
 * Resolves to what `read` returns for a 2xx answer, otherwise throws ApiError.
 */
export async function request<T>(
  path: string,
  options: RequestOptions,
  read: (response: Response) => Promise<T>,
): Promise<T> {
  const guard = deadline(options.signal)
  try {
    const response = await send(path, options, guard.signal, guard.timedOut)
    if (options.deadlineCoversBody === false) guard.finish()
    try {
      return await read(response)
    } catch {
      throw failure(guard.timedOut())
    }
  } finally {
    guard.finish()
  }
}

export function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return request(path, options, (response) => response.json() as Promise<T>)
}

/** A request whose answer has no body worth reading (DELETE, sign-out). */
export function requestNoContent(path: string, options: RequestOptions = {}): Promise<void> {
  return request(path, options, async () => undefined)
}
