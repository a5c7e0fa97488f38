import { fireEvent, screen, waitFor } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { TOKEN_KEY, USER_ID_KEY, saveSession } from '../lib/storage'
import { fakeFetch, json } from '../test/fakeFetch'
import { renderWithProviders } from '../test/render'
import type { ConversationSummary } from '../types'
import { HistoryPage } from './HistoryPage'
import { TranscriptPage } from './TranscriptPage'

const USER = 'usr_1a2b3c4d'
const TOKEN = 'aaa.bbb.ccc'

function conversation(n: number): ConversationSummary {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    workflow: 'shopify_onboarding',
    started_at: `2025-01-${String(30 - n).padStart(2, '0')}T10:00:00Z`,
    ended_at: `2025-01-${String(30 - n).padStart(2, '0')}T10:30:00Z`,
    message_count: n + 1,
    metadata: {},
  }
}

function renderAt(path: string) {
  renderWithProviders(
    <Routes>
      <Route path="/chat" element={<p>chat page</p>} />
      <Route path="/history/:userId" element={<HistoryPage />} />
      <Route path="/history/:userId/:conversationId" element={<TranscriptPage />} />
    </Routes>,
    { path },
  )
}

const profile = {
  user_id: USER,
  shop_domain: 'mystore.myshopify.com',
  email: 'owner@example.com',
  name: 'My Store',
  created_at: '2025-01-01T00:00:00Z',
  last_seen: '2025-01-20T00:00:00Z',
  stats: { total_conversations: 3, first_conversation: null, last_conversation: null },
}

beforeEach(() => {
  vi.unstubAllGlobals()
  saveSession({ userId: USER, token: TOKEN, merchantId: 'merchant_mystore', shop: 'mystore.myshopify.com' })
})

describe('HistoryPage', () => {
  it('lists conversations newest first, pages with next_cursor, sends the bearer token', async () => {
    const calls = fakeFetch((url) => {
      if (url.pathname.endsWith('/profile')) return json(profile)
      if (url.searchParams.get('before') === 'CURSOR1') {
        return json({ conversations: [conversation(3)], total: 3, limit: 20, offset: 0, next_cursor: null })
      }
      return json({ conversations: [conversation(1), conversation(2)], total: 3, limit: 20, offset: 0, next_cursor: 'CURSOR1' })
    })
    renderAt(`/history/${USER}`)
    const rows = await screen.findAllByTestId('conversation-row')
    expect(rows).toHaveLength(2)
    expect(rows[0]).toHaveTextContent('Shopify onboarding')
    expect(rows[0]).toHaveTextContent('2 messages')
    expect(await screen.findByTestId('profile-stats')).toHaveTextContent('3 conversations')
    expect(screen.getByTestId('user-id')).toHaveTextContent(USER)

    fireEvent.click(screen.getByTestId('load-more'))
    await waitFor(() => expect(screen.getAllByTestId('conversation-row')).toHaveLength(3))
    expect(screen.queryByTestId('load-more')).not.toBeInTheDocument()

    const listCalls = calls.filter((c) => c.url.pathname === `/api/v1/users/${USER}/conversations`)
    expect(listCalls[0].url.searchParams.get('limit')).toBe('20')
    expect(listCalls[1].url.searchParams.get('before')).toBe('CURSOR1')
    for (const call of calls) {
      expect(new Headers(call.init.headers).get('Authorization')).toBe(`Bearer ${TOKEN}`)
      expect(call.url.toString()).not.toContain(TOKEN)
    }
  })

  it('shows a clear sign-in-again state on 401 and forgets the token', async () => {
    fakeFetch(() => json({ detail: 'Token expired' }, 401))
    renderAt(`/history/${USER}`)
    expect(await screen.findByTestId('session-expired')).toHaveTextContent(
      'Your sign-in has expired — sign in again',
    )
    expect(screen.getByTestId('connect-shopify')).toBeInTheDocument()
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
    expect(localStorage.getItem(USER_ID_KEY)).toBe(USER)
  })

  it('explains 403 and offers retry after a network failure', async () => {
    fakeFetch(() => json({ detail: 'Forbidden' }, 403))
    renderAt(`/history/usr_someoneelse`)
    expect(await screen.findByTestId('api-error')).toHaveTextContent(/another account/)
    expect(screen.queryByTestId('retry')).not.toBeInTheDocument()
  })

  it('retries after a network failure', async () => {
    let fail = true
    fakeFetch((url) => {
      if (url.pathname.endsWith('/profile')) return json(profile)
      if (fail) throw new TypeError('Failed to fetch')
      return json({ conversations: [conversation(1)], total: 1, limit: 20, offset: 0, next_cursor: null })
    })
    renderAt(`/history/${USER}`)
    expect(await screen.findByTestId('api-error')).toHaveTextContent(/Could not reach/)
    fail = false
    fireEvent.click(screen.getByTestId('retry'))
    expect(await screen.findAllByTestId('conversation-row')).toHaveLength(1)
  })

  it('deletes a conversation after confirming and removes its row', async () => {
    const calls = fakeFetch((url, init) => {
      if (init.method === 'DELETE') return new Response(null, { status: 204 })
      if (url.pathname.endsWith('/profile')) return json(profile)
      return json({ conversations: [conversation(1), conversation(2)], total: 2, limit: 20, offset: 0, next_cursor: null })
    })
    const confirm = vi.spyOn(window, 'confirm')
    renderAt(`/history/${USER}`)
    await screen.findAllByTestId('conversation-row')

    // An in-page dialog asks, not window.confirm; Cancel deletes nothing.
    fireEvent.click(screen.getAllByTestId('delete-conversation')[0])
    expect(screen.getByTestId('confirm-dialog')).toHaveTextContent(/cannot be undone/)
    fireEvent.click(screen.getByTestId('confirm-cancel'))
    expect(screen.queryByTestId('confirm-dialog')).not.toBeInTheDocument()
    expect(calls.some((c) => c.init.method === 'DELETE')).toBe(false)

    fireEvent.click(screen.getAllByTestId('delete-conversation')[0])
    fireEvent.click(screen.getByTestId('confirm-ok'))
    expect(confirm).not.toHaveBeenCalled()
    await waitFor(() => expect(screen.getAllByTestId('conversation-row')).toHaveLength(1))
    const deleted = calls.find((c) => c.init.method === 'DELETE')!
    expect(deleted.url.pathname).toBe(`/api/v1/users/${USER}/conversations/${conversation(1).id}`)
    expect(screen.getByTestId('conversation-row')).toHaveAttribute('data-conversation-id', conversation(2).id)
  })

  it('after a delete the profile counts are fetched again', async () => {
    let total = 2
    fakeFetch((url, init) => {
      if (init.method === 'DELETE') {
        total = 1
        return new Response(null, { status: 204 })
      }
      if (url.pathname.endsWith('/profile')) {
        return json({ ...profile, stats: { ...profile.stats, total_conversations: total } })
      }
      return json({ conversations: [conversation(1), conversation(2)], total: 2, limit: 20, offset: 0, next_cursor: null })
    })
    renderAt(`/history/${USER}`)
    expect(await screen.findByTestId('profile-stats')).toHaveTextContent('2 conversations')
    fireEvent.click(screen.getAllByTestId('delete-conversation')[0])
    fireEvent.click(screen.getByTestId('confirm-ok'))
    await waitFor(() => expect(screen.getByTestId('profile-stats')).toHaveTextContent('1 conversation ·'))
    expect(screen.getByTestId('history-count')).toHaveTextContent('Showing 1 of 1')
  })

  it('exports through a Blob URL with the token in a header', async () => {
    const calls = fakeFetch((url) => {
      if (url.pathname.endsWith('/export')) return new Response('{"id":"a"}\n', { status: 200 })
      if (url.pathname.endsWith('/profile')) return json(profile)
      return json({ conversations: [conversation(1)], total: 1, limit: 20, offset: 0, next_cursor: null })
    })
    const createObjectURL = vi.fn(() => 'blob:http://localhost/x')
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() })
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
    renderAt(`/history/${USER}`)
    await screen.findAllByTestId('conversation-row')
    fireEvent.click(screen.getByTestId('export-button'))
    await waitFor(() => expect(click).toHaveBeenCalled())
    const exportCall = calls.find((c) => c.url.pathname.endsWith('/export'))!
    expect(new Headers(exportCall.init.headers).get('Authorization')).toBe(`Bearer ${TOKEN}`)
    expect(createObjectURL).toHaveBeenCalledTimes(1)
  })

  it('sign out forgets the session and returns to /chat', async () => {
    fakeFetch((url) =>
      url.pathname.endsWith('/profile')
        ? json(profile)
        : json({ conversations: [], total: 0, limit: 20, offset: 0, next_cursor: null }),
    )
    renderAt(`/history/${USER}`)
    expect(await screen.findByTestId('empty-history')).toBeInTheDocument()
    fireEvent.click(screen.getByTestId('sign-out'))
    expect(await screen.findByText('chat page')).toBeInTheDocument()
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
    expect(localStorage.getItem(USER_ID_KEY)).toBeNull()
  })

  it('asks an anonymous visitor to sign in without calling the API', () => {
    localStorage.clear()
    const calls = fakeFetch(() => json({}))
    renderAt(`/history/${USER}`)
    expect(screen.getByTestId('signed-out')).toBeInTheDocument()
    expect(calls).toHaveLength(0)
  })
})

describe('TranscriptPage', () => {
  it('shows every message of the conversation', async () => {
    fakeFetch((url) => {
      if (url.pathname.endsWith('/profile')) return json(profile)
      return json({
        id: conversation(1).id,
        workflow: 'shopify_onboarding',
        started_at: '2025-01-29T10:00:00Z',
        ended_at: '2025-01-29T10:30:00Z',
        messages: [
          { sender: 'cj', content: 'Hi there', timestamp: '2025-01-29T10:00:00Z' },
          { sender: 'user', content: 'Hello CJ', timestamp: '2025-01-29T10:00:10Z' },
        ],
        metadata: {},
      })
    })
    renderAt(`/history/${USER}/${conversation(1).id}`)
    const messages = await screen.findAllByTestId('transcript-message')
    expect(messages).toHaveLength(2)
    expect(messages[0]).toHaveTextContent('CJ')
    expect(messages[0]).toHaveTextContent('Hi there')
    expect(messages[1]).toHaveTextContent('Hello CJ')
  })

  it('says so when the conversation does not exist', async () => {
    fakeFetch((url) => (url.pathname.endsWith('/profile') ? json(profile) : json({ detail: 'Not found' }, 404)))
    renderAt(`/history/${USER}/${conversation(9).id}`)
    expect(await screen.findByTestId('api-error')).toHaveTextContent(/could not find that conversation/i)
  })
})
