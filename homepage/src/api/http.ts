/** A failed API call: `status` is the HTTP status, or null when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number | null

  constructor(status: number | null, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
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

/**
 * Call the agents API with the bearer token in the Authorization header (never in the URL).
 * Resolves to the Response when it is 2xx, otherwise throws ApiError.
 */
export async function authorizedFetch(
  path: string,
  token: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('Authorization', `Bearer ${token}`)
  if (!headers.has('Accept')) headers.set('Accept', 'application/json')
  let response: Response
  try {
    response = await fetch(`${agentsBaseUrl()}${path}`, { ...init, headers })
  } catch {
    throw new ApiError(null, 'Could not reach the server.')
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response))
  return response
}
