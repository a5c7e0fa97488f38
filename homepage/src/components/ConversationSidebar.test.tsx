import { act, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { saveSession } from '../lib/storage'
import { ChatPage } from '../pages/ChatPage'
import { fakeFetch, json, type FetchCall } from '../test/fakeFetch'
import { fakeSocketFactory } from '../test/fakeSocket'
import { fakeIntersectionObserver } from '../test/intersection'
import { renderWithProviders } from '../test/render'
import type { ConversationSummary } from '../types'

const USER = 'usr_1a2b3c4d'
const TOKEN = 'aaa.bbb.ccc'
const LIST = `/api/v1/users/${USER}/conversations`

function row(n: number, extra: Partial<ConversationSummary> = {}): ConversationSummary {
  const started = new Date(Date.now() - n * 3600_000).toISOString()
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    workflow: 'shopify_onboarding',
    title: `Chat number ${n}`,
    preview: `Last words of chat ${n}`,
    started_at: started,
    ended_at: started,
    message_count: 4,
    metadata: {},
    ...extra,
  }
}

const page = (rows: ConversationSummary[], next: string | null, total = 3) => ({
  conversations: rows,
  total,
  limit: 20,
  offset: 0,
  next_cursor: next,
})

function renderChat(path = '/chat') {
  const sockets = fakeSocketFactory()
  const chat = <ChatPage oauthReturn={{ kind: 'none' }} onOAuthHandled={vi.fn()} socketFactory={sockets.factory} />
  renderWithProviders(
    <Routes>
      <Route path="/chat" element={chat} />
      <Route path="/chat/:conversationId" element={chat} />
    </Routes>,
    { path },
  )
  return sockets
}

const listCalls = (calls: FetchCall[]) => calls.filter((c) => c.url.pathname === LIST)

beforeEach(() => {
  vi.unstubAllGlobals()
  saveSession({ userId: USER, token: TOKEN, merchantId: 'merchant_mystore', shop: 'cool-store.myshopify.com' })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the sidebar', () => {
  it('lists the chats by title and preview, newest first, with relative dates', async () => {
    const now = new Date()
    const yesterdayNoon = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 12).toISOString()
    const fiveMinutesAgo = new Date(now.getTime() - 5 * 60_000).toISOString()
    fakeFetch(() =>
      json(
        page(
          [row(2, { started_at: fiveMinutesAgo }), row(30, { title: null, preview: null, started_at: yesterdayNoon })],
          null,
        ),
      ),
    )
    renderChat()
    const rows = await screen.findAllByTestId('sidebar-row')
    expect(rows.map((r) => within(r).getByTestId('sidebar-title').textContent)).toEqual([
      'Chat number 2',
      'Untitled chat',
    ])
    expect(rows[0]).toHaveTextContent('Last words of chat 2')
    expect(rows[0]).toHaveTextContent('5 min ago')
    expect(rows[1]).toHaveTextContent('Yesterday')
    expect(within(rows[1]).queryByTestId('sidebar-preview')).not.toBeInTheDocument()
  })

  it('loads the next page by cursor when its end scrolls into view', async () => {
    const scroll = fakeIntersectionObserver()
    const calls = fakeFetch((url) =>
      url.searchParams.get('before') === 'CURSOR1'
        ? json(page([row(3)], null))
        : json(page([row(1), row(2)], 'CURSOR1')),
    )
    renderChat()
    expect(await screen.findAllByTestId('sidebar-row')).toHaveLength(2)
    scroll.scrollAllIntoView()
    await waitFor(() => expect(screen.getAllByTestId('sidebar-row')).toHaveLength(3))
    expect(listCalls(calls).map((c) => c.url.searchParams.get('before'))).toEqual([null, 'CURSOR1'])
    for (const call of calls) {
      expect(new Headers(call.init.headers).get('Authorization')).toBe(`Bearer ${TOKEN}`)
      expect(call.url.toString()).not.toContain(TOKEN)
    }
  })

  it('highlights the conversation open in the chat', async () => {
    fakeFetch(() => json(page([row(1), row(2)], null)))
    renderChat(`/chat/${row(2).id}`)
    const rows = await screen.findAllByTestId('sidebar-row')
    expect(within(rows[1]).getByRole('link')).toHaveAttribute('aria-current', 'page')
    expect(within(rows[0]).getByRole('link')).not.toHaveAttribute('aria-current')
  })

  it('shows the chat being written before the server lists it', async () => {
    fakeFetch(() => json(page([row(5)], null)))
    const { last } = renderChat()
    await screen.findAllByTestId('sidebar-row')
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    fireEvent.change(screen.getByTestId('chat-input'), {
      target: { value: 'How do I set up shipping rates for Canada and the rest of the world?' },
    })
    fireEvent.click(screen.getByTestId('send-button'))
    const rows = screen.getAllByTestId('sidebar-row')
    expect(rows).toHaveLength(2)
    expect(within(rows[0]).getByTestId('sidebar-title')).toHaveTextContent(
      'How do I set up shipping rates for Canada and the rest of…',
    )
    expect(within(rows[0]).getByRole('link')).toHaveAttribute('aria-current', 'page')
  })

  it('"New chat" starts a fresh conversation', async () => {
    fakeFetch(() => json(page([row(1)], null)))
    const { sockets } = renderChat(`/chat/${row(1).id}`)
    expect(sockets[0].url).toMatch(new RegExp(`${row(1).id}$`))
    fireEvent.click(screen.getByTestId('new-conversation'))
    expect(sockets.at(-1)!.url).not.toMatch(new RegExp(`${row(1).id}$`))
    expect(sockets[0].closed).toBe(true)
  })
})

describe('search', () => {
  it('asks the server once the typing stops, and highlights the matches safely', async () => {
    const calls = fakeFetch((url) =>
      url.searchParams.get('q')
        ? json(
            page([row(7, { snippet: 'we ship **refunds** <img src=x onerror=alert(1)> in 5 days' })], null, 1),
          )
        : json(page([row(1)], null)),
    )
    renderChat()
    await screen.findAllByTestId('sidebar-row')
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const search = screen.getByTestId('sidebar-search')
    for (const typed of ['r', 're', 'ref', 'refunds']) {
      fireEvent.change(search, { target: { value: typed } })
      act(() => vi.advanceTimersByTime(100))
    }
    expect(listCalls(calls).filter((c) => c.url.searchParams.has('q'))).toHaveLength(0)
    act(() => vi.advanceTimersByTime(250))
    vi.useRealTimers()
    const results = await screen.findByTestId('sidebar-results')
    const searches = listCalls(calls).filter((c) => c.url.searchParams.has('q'))
    expect(searches.map((c) => c.url.searchParams.get('q'))).toEqual(['refunds'])
    const snippet = within(results).getByTestId('sidebar-snippet')
    expect(snippet.querySelectorAll('mark')).toHaveLength(1)
    expect(snippet.querySelector('mark')).toHaveTextContent('refunds')
    expect(snippet.querySelector('img')).toBeNull()
    expect(snippet).toHaveTextContent('<img src=x onerror=alert(1)>')
  })

  it('says clearly when nothing matches', async () => {
    fakeFetch((url) => json(url.searchParams.get('q') ? page([], null, 0) : page([row(1)], null)))
    renderChat()
    await screen.findAllByTestId('sidebar-row')
    fireEvent.change(screen.getByTestId('sidebar-search'), { target: { value: 'zebras' } })
    expect(await screen.findByTestId('sidebar-search-empty')).toHaveTextContent('No conversations mention “zebras”')
  })
})

describe('continuing a past conversation', () => {
  it('opening it starts the socket with its id and the token, replays it and lets its owner write', async () => {
    fakeFetch(() => json(page([row(1), row(2)], null)))
    const { last, sockets } = renderChat()
    fireEvent.click(within((await screen.findAllByTestId('sidebar-row'))[1]).getByRole('link'))
    const socket = last()
    expect(socket.url).toMatch(new RegExp(`/ws/chat/${row(2).id}$`))
    expect(sockets[0].closed).toBe(true)
    socket.open()
    expect(socket.framesOfType('start')[0]).toMatchObject({ conversation_id: row(2).id, user_id: USER, token: TOKEN })
    socket.receive({
      type: 'conversation_started',
      conversation_id: row(2).id,
      resumed: true,
      messages: [
        { sender: 'user', content: 'An old question', timestamp: '2025-01-01T10:00:00Z' },
        { sender: 'cj', content: 'An old answer', timestamp: '2025-01-01T10:00:01Z' },
      ],
    })
    expect(screen.getAllByTestId('message-user')[0]).toHaveTextContent('An old question')
    fireEvent.change(screen.getByTestId('chat-input'), { target: { value: 'One more thing' } })
    fireEvent.click(screen.getByTestId('send-button'))
    expect(socket.framesOfType('message')).toEqual([{ type: 'message', text: 'One more thing', message_id: expect.any(String) }])
    expect(sessionStorage.getItem('hirecj_conversation_id')).toBe(row(2).id)
  })

  it('an ended chat can be continued in place', async () => {
    fakeFetch(() => json(page([], null, 0)))
    const { last, sockets } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    last().receive({ type: 'conversation_ended' })
    const id = sockets[0].url.split('/').pop()
    fireEvent.click(screen.getByTestId('continue-ended'))
    expect(sockets).toHaveLength(2)
    expect(last().url.split('/').pop()).toBe(id)
    expect(sessionStorage.getItem('hirecj_conversation_id')).toBe(id)
    last().open()
    last().receive({ type: 'conversation_started', resumed: true, messages: [] })
    expect(screen.getByTestId('chat-input')).toBeInTheDocument()
  })
})
