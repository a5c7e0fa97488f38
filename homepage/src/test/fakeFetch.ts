import { vi } from 'vitest'

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

export type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>

export interface FetchCall {
  url: URL
  init: RequestInit
}

/** Replace `fetch` with `handler`; returns every call made, in order. */
export function fakeFetch(handler: Handler): FetchCall[] {
  const calls: FetchCall[] = []
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost')
    calls.push({ url, init })
    return handler(url, init)
  })
  vi.stubGlobal('fetch', fetchMock)
  return calls
}

/** A request that never answers until its signal aborts (a hung backend). */
export function hang(init: RequestInit): Promise<Response> {
  return new Promise((_resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
  })
}
