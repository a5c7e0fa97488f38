import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query'
import { ApiError } from '../api/http'

/**
 * The app's one QueryClient. No automatic retries: a failed or timed-out request shows its
 * message with a Retry button at once, instead of spinning through backoff first. A 401 from
 * any query or mutation means the saved token is no good: `onUnauthorized` forgets it.
 */
export function createQueryClient(onUnauthorized: () => void = () => {}): QueryClient {
  const handle = (error: unknown) => {
    if (error instanceof ApiError && error.status === 401) onUnauthorized()
  }
  return new QueryClient({
    queryCache: new QueryCache({ onError: handle }),
    mutationCache: new MutationCache({ onError: handle }),
    defaultOptions: {
      queries: { retry: false },
      mutations: { retry: false },
    },
  })
}
