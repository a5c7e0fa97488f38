import { QueryClientProvider } from '@tanstack/react-query'
import { useCallback, useRef, useState, type ReactNode } from 'react'
import { createQueryClient } from './lib/queryClient'
import { SessionProvider } from './session/SessionProvider'

interface AppProvidersProps {
  children: ReactNode
}

/**
 * Data fetching and the signed-in session, around every page (the app and each test; each
 * mount has a QueryClient of its own). A 401 from any request signs the session out.
 */
export function AppProviders({ children }: AppProvidersProps) {
  const expireRef = useRef<() => void>(() => {})
  const [client] = useState(() => createQueryClient(() => expireRef.current()))
  const onExpireReady = useCallback((expire: () => void) => {
    expireRef.current = expire
  }, [])
  return (
    <QueryClientProvider client={client}>
      <SessionProvider onExpireReady={onExpireReady}>{children}</SessionProvider>
    </QueryClientProvider>
  )
}
