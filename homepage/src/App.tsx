import { useCallback, useState } from 'react'
import { BrowserRouter, Route, Routes } from 'react-router'
import { AppProviders } from './AppProviders'
import type { SocketFactory } from './api/chatSocket'
import type { OAuthReturn } from './lib/oauthReturn'
import { ChatPage } from './pages/ChatPage'
import { HistoryPage } from './pages/HistoryPage'
import { LandingPage } from './pages/LandingPage'
import { NotFoundPage } from './pages/NotFoundPage'
import { TranscriptPage } from './pages/TranscriptPage'

interface AppProps {
  initialOAuthReturn: OAuthReturn
  socketFactory?: SocketFactory
}

export function App({ initialOAuthReturn, socketFactory }: AppProps) {
  // Held here so that coming back to /chat later does not send `oauth_complete` twice.
  const [oauthReturn, setOAuthReturn] = useState<OAuthReturn>(initialOAuthReturn)
  const clearOAuthReturn = useCallback(() => setOAuthReturn({ kind: 'none' }), [])
  const chat = <ChatPage oauthReturn={oauthReturn} onOAuthHandled={clearOAuthReturn} socketFactory={socketFactory} />

  return (
    <AppProviders>
      <BrowserRouter>
        <Routes>
          <Route path="/" element={<LandingPage />} />
          <Route path="/chat" element={chat} />
          <Route path="/chat/:conversationId" element={chat} />
          <Route path="/history/:userId" element={<HistoryPage />} />
          <Route path="/history/:userId/:conversationId" element={<TranscriptPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </BrowserRouter>
    </AppProviders>
  )
}
