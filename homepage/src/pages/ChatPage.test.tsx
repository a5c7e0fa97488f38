import { fireEvent, screen, waitFor } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { consumeOAuthReturn, type OAuthReturn } from '../lib/oauthReturn'
import { CONVERSATION_ID_KEY, TOKEN_KEY, USER_ID_KEY, saveSession } from '../lib/storage'
import { fakeFetch, json } from '../test/fakeFetch'
import { fakeSocketFactory } from '../test/fakeSocket'
import { renderWithProviders } from '../test/render'
import { ChatPage } from './ChatPage'

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMTIzNDU2NzgifQ.c2lnbmF0dXJl'

function renderPage(oauthReturn: OAuthReturn) {
  const fake = fakeSocketFactory()
  const onOAuthHandled = vi.fn()
  const page = <ChatPage oauthReturn={oauthReturn} onOAuthHandled={onOAuthHandled} socketFactory={fake.factory} />
  renderWithProviders(
    <Routes>
      <Route path="/chat" element={page} />
      <Route path="/chat/:conversationId" element={page} />
    </Routes>,
    { path: '/chat' },
  )
  return { ...fake, onOAuthHandled }
}

const openMenu = () => fireEvent.click(screen.getByTestId('header-menu'))

beforeEach(() => {
  vi.unstubAllGlobals()
  // The sidebar lists the user's conversations; these tests are about the chat itself.
  fakeFetch((url) =>
    url.pathname === '/api/v1/sign-out'
      ? new Response(null, { status: 204 })
      : json({ conversations: [], total: 0, limit: 20, offset: 0, next_cursor: null }),
  )
})

describe('ChatPage', () => {
  it('after an OAuth return: stores the user, scrubs the URL, starts with the token, sends oauth_complete', () => {
    sessionStorage.setItem(CONVERSATION_ID_KEY, '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f')
    window.history.replaceState(
      null,
      '',
      `/chat?oauth=complete&is_new=false&merchant_id=merchant_mystore&user_id=usr_1a2b3c4d&shop=mystore.myshopify.com#token=${TOKEN}`,
    )
    const result = consumeOAuthReturn(window.location, window.history, (c) =>
      saveSession({ userId: c.userId, token: c.token, merchantId: c.merchantId, shop: c.shop }),
    )
    expect(window.location.href).not.toContain(TOKEN)
    expect(localStorage.getItem(USER_ID_KEY)).toBe('usr_1a2b3c4d')
    expect(localStorage.getItem(TOKEN_KEY)).toBe(TOKEN)

    const { last, onOAuthHandled } = renderPage(result)
    const socket = last()
    socket.open()
    expect(socket.framesOfType('start')[0]).toMatchObject({
      conversation_id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
      user_id: 'usr_1a2b3c4d',
      merchant_id: 'merchant_mystore',
      token: TOKEN,
    })
    socket.receive({ type: 'conversation_started', messages: [], resumed: true })
    expect(socket.framesOfType('oauth_complete')[0]).toMatchObject({
      oauth_provider: 'shopify',
      is_new: false,
      user_id: 'usr_1a2b3c4d',
      token: TOKEN,
    })
    expect(onOAuthHandled).toHaveBeenCalled()
    openMenu()
    expect(screen.getByTestId('user-id')).toHaveTextContent('usr_1a2b3c4d')
    expect(screen.getByTestId('history-button')).toHaveAttribute('href', '/history/usr_1a2b3c4d')

    socket.receive({ type: 'cj_message', content: 'Welcome back! mystore is connected.', timestamp: '2025-01-01T10:00:00Z' })
    expect(screen.getByTestId('message-cj')).toHaveTextContent('Welcome back!')
  })

  it('anonymous visitor: no history button, start without user or token', () => {
    const { last } = renderPage({ kind: 'none' })
    last().open()
    expect(last().framesOfType('start')[0]).toMatchObject({ user_id: null, token: null })
    expect(screen.queryByTestId('history-button')).not.toBeInTheDocument()
    expect(screen.queryByTestId('user-id')).not.toBeInTheDocument()
    expect(screen.getByTestId('connect-shopify')).toBeInTheDocument()
  })

  it('shows a failed OAuth return clearly', () => {
    renderPage({ kind: 'error', reason: 'access_denied', message: 'The Shopify connection was cancelled.' })
    expect(screen.getByTestId('oauth-error')).toHaveTextContent(/Shopify was not connected/)
  })

  it('"New conversation" opens a socket for a fresh conversation id', () => {
    const { sockets } = renderPage({ kind: 'none' })
    const before = sessionStorage.getItem(CONVERSATION_ID_KEY)
    fireEvent.click(screen.getByTestId('new-conversation'))
    const after = sessionStorage.getItem(CONVERSATION_ID_KEY)
    expect(after).not.toBe(before)
    expect(sockets.at(-1)!.url).toMatch(new RegExp(`${after}$`))
    expect(sockets[0].closed).toBe(true)
  })

  it('sign out forgets the user', async () => {
    saveSession({ userId: 'usr_1a2b3c4d', token: TOKEN, merchantId: null, shop: null })
    renderPage({ kind: 'none' })
    openMenu()
    fireEvent.click(screen.getByTestId('sign-out'))
    await waitFor(() => expect(localStorage.getItem(USER_ID_KEY)).toBeNull())
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
    openMenu()
    expect(screen.queryByTestId('history-button')).not.toBeInTheDocument()
  })
})

describe('ChatPage ending', () => {
  it('a reload after "End chat" opens a fresh conversation', () => {
    const { last } = renderPage({ kind: 'none' })
    const socket = last()
    const ended = sessionStorage.getItem(CONVERSATION_ID_KEY)
    socket.open()
    socket.receive({ type: 'conversation_started', messages: [] })
    openMenu()
    fireEvent.click(screen.getByTestId('end-chat'))
    expect(socket.framesOfType('end_conversation')).toHaveLength(1)
    const next = sessionStorage.getItem(CONVERSATION_ID_KEY)
    expect(next).not.toBe(ended)
    fireEvent.click(screen.getByTestId('start-new-conversation'))
    expect(last().url).toMatch(new RegExp(`${next}$`))
  })
})
