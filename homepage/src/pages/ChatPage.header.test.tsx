import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { TOKEN_KEY, USER_ID_KEY, saveSession } from '../lib/storage'
import { fakeFetch, json, type Handler } from '../test/fakeFetch'
import { fakeSocketFactory } from '../test/fakeSocket'
import { renderWithProviders } from '../test/render'
import { ChatPage } from './ChatPage'

const USER = 'usr_a325a4b3'
const TOKEN = 'aaa.bbb.ccc'
const emptyList = json({ conversations: [], total: 0, limit: 20, offset: 0, next_cursor: null })

function renderChat(handler: Handler = () => emptyList) {
  const calls = fakeFetch(handler)
  const sockets = fakeSocketFactory()
  renderWithProviders(
    <Routes>
      <Route
        path="/chat"
        element={<ChatPage oauthReturn={{ kind: 'none' }} onOAuthHandled={vi.fn()} socketFactory={sockets.factory} />}
      />
    </Routes>,
    { path: '/chat' },
  )
  return { calls, sockets }
}

const header = () => document.querySelector('header.chat__header') as HTMLElement
const signIn = () =>
  saveSession({ userId: USER, token: TOKEN, merchantId: 'merchant_cool-store', shop: 'cool-store.myshopify.com' })

beforeEach(() => {
  vi.unstubAllGlobals()
})

describe('the chat header', () => {
  it('anonymous: Connect Shopify, no store, no user id, no history or sign-out', () => {
    renderChat()
    expect(within(header()).getByTestId('connect-shopify')).toBeInTheDocument()
    expect(within(header()).queryByTestId('shop-badge')).not.toBeInTheDocument()
    fireEvent.click(screen.getByTestId('header-menu'))
    expect(screen.getByTestId('menu-new-chat')).toBeInTheDocument()
    expect(screen.queryByTestId('history-button')).not.toBeInTheDocument()
    expect(screen.queryByTestId('sign-out')).not.toBeInTheDocument()
    expect(screen.queryByTestId('user-id')).not.toBeInTheDocument()
    expect(screen.getByTestId('sidebar-signed-out')).toBeInTheDocument()
  })

  it('signed in: the shop name and "Connected"; the usr_ id only under Account details in the menu', () => {
    signIn()
    renderChat()
    expect(within(header()).getByTestId('shop-name')).toHaveTextContent(/^cool-store$/)
    expect(within(header()).getByTestId('connected-mark')).toHaveTextContent('Connected')
    expect(within(header()).queryByTestId('connect-shopify')).not.toBeInTheDocument()
    expect(header().textContent).not.toMatch(/usr_/)
    expect(document.body.textContent).not.toContain(USER)

    fireEvent.click(screen.getByTestId('header-menu'))
    const panel = screen.getByTestId('header-menu-panel')
    expect(within(panel).getByTestId('history-button')).toHaveAttribute('href', `/history/${USER}`)
    expect(within(panel).getByTestId('menu-new-chat')).toBeInTheDocument()
    expect(within(panel).getByTestId('sign-out')).toBeInTheDocument()
    const details = within(panel).getByRole('region', { name: 'Account details' })
    expect(within(details).getByTestId('user-id')).toHaveTextContent(USER)
  })

  it('the menu closes on Escape', () => {
    signIn()
    renderChat()
    fireEvent.click(screen.getByTestId('header-menu'))
    expect(screen.getByTestId('header-menu-panel')).toBeInTheDocument()
    fireEvent.keyDown(document, { key: 'Escape' })
    expect(screen.queryByTestId('header-menu-panel')).not.toBeInTheDocument()
  })

  it('titles the page', () => {
    renderChat()
    expect(document.title).toBe('Chat · HireCJ')
  })
})

describe('sign out', () => {
  it('asks auth to revoke the token with the bearer header, then forgets the session', async () => {
    signIn()
    const { calls } = renderChat((url) =>
      url.pathname === '/api/v1/sign-out' ? new Response(null, { status: 204 }) : emptyList,
    )
    fireEvent.click(screen.getByTestId('header-menu'))
    fireEvent.click(screen.getByTestId('sign-out'))
    await waitFor(() => expect(localStorage.getItem(TOKEN_KEY)).toBeNull())
    const signOut = calls.find((c) => c.url.pathname === '/api/v1/sign-out')!
    expect(signOut.init.method).toBe('POST')
    expect(new Headers(signOut.init.headers).get('Authorization')).toBe(`Bearer ${TOKEN}`)
    expect(signOut.url.search).toBe('')
    expect(localStorage.getItem(USER_ID_KEY)).toBeNull()
    expect(within(header()).getByTestId('connect-shopify')).toBeInTheDocument()
    expect(screen.queryByTestId('signed-out-notice')).not.toBeInTheDocument()
  })

  it('an auth without the route (404) still signs out here, quietly', async () => {
    signIn()
    renderChat((url) => (url.pathname === '/api/v1/sign-out' ? json({ detail: 'Not Found' }, 404) : emptyList))
    fireEvent.click(screen.getByTestId('header-menu'))
    fireEvent.click(screen.getByTestId('sign-out'))
    await waitFor(() => expect(localStorage.getItem(TOKEN_KEY)).toBeNull())
    expect(screen.queryByTestId('signed-out-notice')).not.toBeInTheDocument()
  })

  it('a network failure still signs out on this device, and says so', async () => {
    signIn()
    renderChat((url) => {
      if (url.pathname === '/api/v1/sign-out') throw new TypeError('Failed to fetch')
      return emptyList
    })
    fireEvent.click(screen.getByTestId('header-menu'))
    fireEvent.click(screen.getByTestId('sign-out'))
    expect(await screen.findByTestId('signed-out-notice')).toHaveTextContent(/signed out on this device/)
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
    expect(localStorage.getItem(USER_ID_KEY)).toBeNull()
  })
})
