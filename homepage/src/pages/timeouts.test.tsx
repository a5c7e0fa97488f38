import { act, fireEvent, screen } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { REQUEST_TIMEOUT_MS } from '../api/http'
import { saveSession } from '../lib/storage'
import { fakeFetch, hang, json } from '../test/fakeFetch'
import { renderWithProviders } from '../test/render'
import { HistoryPage } from './HistoryPage'
import { TranscriptPage } from './TranscriptPage'

const USER = 'usr_1a2b3c4d'
const ID = '00000000-0000-4000-8000-000000000001'
const listing = {
  conversations: [
    {
      id: ID,
      workflow: 'shopify_onboarding',
      title: 'Shipping to Canada',
      preview: 'Rates are set per zone.',
      started_at: '2025-01-29T10:00:00Z',
      ended_at: null,
      message_count: 2,
      metadata: {},
    },
  ],
  total: 1,
  limit: 20,
  offset: 0,
  next_cursor: null,
}

function renderAt(path: string) {
  renderWithProviders(
    <Routes>
      <Route path="/history/:userId" element={<HistoryPage />} />
      <Route path="/history/:userId/:conversationId" element={<TranscriptPage />} />
    </Routes>,
    { path },
  )
}

beforeEach(() => {
  vi.unstubAllGlobals()
  saveSession({ userId: USER, token: 'aaa.bbb.ccc', merchantId: null, shop: 'mystore.myshopify.com' })
  vi.useFakeTimers({ shouldAdvanceTime: true })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('a backend that does not answer', () => {
  it('the history gives up after 10 s with a clear message, and Retry loads it', async () => {
    let hung = true
    fakeFetch((url, init) => {
      if (url.pathname.endsWith('/profile')) return hang(init)
      return hung ? hang(init) : json(listing)
    })
    renderAt(`/history/${USER}`)
    expect(screen.getByTestId('loading')).toHaveTextContent('Loading your conversations…')
    await act(async () => {
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS)
    })
    const error = await screen.findByTestId('api-error')
    expect(error).toHaveAttribute('data-status', 'timeout')
    expect(error).toHaveTextContent('did not answer within 10 seconds')
    expect(screen.queryByTestId('loading')).not.toBeInTheDocument()
    hung = false
    fireEvent.click(screen.getByTestId('retry'))
    expect(await screen.findByTestId('conversation-row')).toHaveTextContent('Shipping to Canada')
  })

  it('the transcript too', async () => {
    let hung = true
    fakeFetch((url, init) => {
      if (url.pathname.endsWith('/profile') || hung) return hang(init)
      return json({ id: ID, workflow: 'shopify_onboarding', started_at: null, ended_at: null, messages: [], metadata: {} })
    })
    renderAt(`/history/${USER}/${ID}`)
    await act(async () => {
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS)
    })
    expect(await screen.findByTestId('api-error')).toHaveAttribute('data-status', 'timeout')
    hung = false
    fireEvent.click(screen.getByTestId('retry'))
    expect(await screen.findByText('This conversation has no messages.')).toBeInTheDocument()
  })
})

describe('history page extras', () => {
  it('shows titles and previews, searches as you type, highlights and says when nothing matches', async () => {
    vi.useRealTimers()
    fakeFetch((url) => {
      if (url.pathname.endsWith('/profile')) return json({ detail: 'x' }, 500)
      const q = url.searchParams.get('q')
      if (q === 'canada') {
        return json({ ...listing, conversations: [{ ...listing.conversations[0], snippet: 'ship to **Canada** soon' }] })
      }
      if (q) return json({ ...listing, conversations: [], total: 0 })
      return json(listing)
    })
    renderAt(`/history/${USER}`)
    const row = await screen.findByTestId('conversation-row')
    expect(row).toHaveTextContent('Shipping to Canada')
    expect(row).toHaveTextContent('Rates are set per zone.')
    expect(document.title).toBe('History · HireCJ')
    fireEvent.change(screen.getByTestId('history-search'), { target: { value: 'canada' } })
    const snippet = await screen.findByTestId('conversation-snippet')
    expect(snippet.querySelector('mark')).toHaveTextContent('Canada')
    fireEvent.change(screen.getByTestId('history-search'), { target: { value: 'zebras' } })
    expect(await screen.findByTestId('search-empty')).toHaveTextContent('No conversations mention “zebras”')
  })

  it("titles a transcript with the conversation's title and offers to continue it", async () => {
    vi.useRealTimers()
    fakeFetch((url) =>
      url.pathname.endsWith('/profile')
        ? json({ detail: 'x' }, 500)
        : json({
            id: ID,
            workflow: 'shopify_onboarding',
            started_at: '2025-01-29T10:00:00Z',
            ended_at: '2025-01-29T10:30:00Z',
            messages: [
              { sender: 'cj', content: 'Hi there', timestamp: '2025-01-29T10:00:00Z' },
              { sender: 'user', content: 'Can I ship to Canada?', timestamp: '2025-01-29T10:00:10Z' },
            ],
            metadata: {},
          }),
    )
    renderAt(`/history/${USER}/${ID}`)
    expect(await screen.findByTestId('transcript-title')).toHaveTextContent('Can I ship to Canada?')
    expect(document.title).toBe('Can I ship to Canada? · HireCJ')
    expect(screen.getByTestId('continue-conversation')).toHaveAttribute('href', `/chat/${ID}`)
  })
})
