import { fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LOCAL_COPY_PREFIX } from '../lib/storage'
import { fakeSocketFactory } from '../test/fakeSocket'
import type { ChatConfig } from '../types'
import { SlackChat } from './SlackChat'

const CONVERSATION_ID = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f'
const config: ChatConfig = {
  workflow: 'shopify_onboarding',
  conversationId: CONVERSATION_ID,
  merchantId: 'merchant_mystore',
  userId: 'usr_1a2b3c4d',
}
const OUTAGE = 'CJ is briefly unavailable; please try again in a moment'

function renderChat(props: Partial<Parameters<typeof SlackChat>[0]> = {}) {
  const fake = fakeSocketFactory()
  render(
    <SlackChat config={config} token="aaa.bbb.ccc" onNewConversation={vi.fn()} socketFactory={fake.factory} {...props} />,
  )
  return fake
}

function type(text: string) {
  fireEvent.change(screen.getByTestId('chat-input'), { target: { value: text } })
  fireEvent.click(screen.getByTestId('send-button'))
}

afterEach(() => {
  vi.useRealTimers()
})

describe('a message counts as sent only once CJ answers', () => {
  it('is marked as sending until the reply, then saved in the tab copy', () => {
    const { last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    type('Hello CJ')
    expect(screen.getByTestId('message-user')).toHaveTextContent('sending…')
    last().receive({ type: 'cj_message', content: 'Hi!', timestamp: '2025-01-01T10:00:01Z', message_id: 'm1' })
    expect(screen.queryByTestId('sending')).not.toBeInTheDocument()
    const copy = JSON.parse(sessionStorage.getItem(LOCAL_COPY_PREFIX + CONVERSATION_ID) ?? '[]')
    expect(copy.map((m: { content: string }) => m.content)).toEqual(['Hello CJ', 'Hi!'])
  })

  it('puts the text back in the message box when an error frame comes instead', () => {
    const { last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    type('Please check my last order')
    expect(screen.getByTestId('chat-input')).toHaveValue('')
    last().receive({ type: 'error', text: OUTAGE })
    expect(screen.getByTestId('chat-input')).toHaveValue('Please check my last order')
    expect(screen.queryByTestId('message-user')).not.toBeInTheDocument()
    expect(screen.getByTestId('chat-error')).toHaveTextContent(OUTAGE)
    expect(screen.getByTestId('unsent-notice')).toHaveTextContent(/back in the message box/)
    // Sending it again works as before.
    fireEvent.click(screen.getByTestId('send-button'))
    expect(last().framesOfType('message')).toHaveLength(2)
    expect(screen.queryByTestId('unsent-notice')).not.toBeInTheDocument()
  })

  it('sends a retried message under the id it first went out with, so it is stored once', () => {
    const { last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    type('Where is order 1001?')
    last().receive({ type: 'error', text: OUTAGE })
    fireEvent.click(screen.getByTestId('send-button'))
    type('A new question')
    const [first, retry, other] = last().framesOfType('message') as { message_id: string }[]
    expect(retry.message_id).toBe(first.message_id)
    expect(other.message_id).not.toBe(first.message_id)
    expect(first.message_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('keeps what was typed since, after the returned text', () => {
    const { last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    type('first question')
    fireEvent.change(screen.getByTestId('chat-input'), { target: { value: 'second thought' } })
    last().receive({ type: 'error', text: OUTAGE })
    expect(screen.getByTestId('chat-input')).toHaveValue('first question\n\nsecond thought')
  })

  it('gives the text back when the socket drops, and takes it out again if it was stored after all', () => {
    vi.useFakeTimers()
    const { sockets, last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    type('Will this arrive?')
    last().drop()
    expect(screen.getByTestId('chat-input')).toHaveValue('Will this arrive?')
    expect(screen.getByTestId('unsent-notice')).toBeInTheDocument()
    vi.advanceTimersByTime(1000)
    expect(sockets).toHaveLength(2)
    sockets[1].open()
    sockets[1].receive({
      type: 'conversation_started',
      resumed: true,
      messages: [
        { sender: 'user', content: 'Will this arrive?', timestamp: '2025-01-01T10:00:00Z' },
        { sender: 'cj', content: 'It did.', timestamp: '2025-01-01T10:00:01Z' },
      ],
    })
    expect(screen.getByTestId('chat-input')).toHaveValue('')
    expect(screen.getByTestId('message-user')).toHaveTextContent('Will this arrive?')
  })

  it('leaves the text in the box when the server never got it', () => {
    vi.useFakeTimers()
    const { sockets, last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    type('Lost in transit')
    last().drop()
    vi.advanceTimersByTime(1000)
    sockets[1].open()
    sockets[1].receive({ type: 'conversation_started', resumed: true, messages: [] })
    expect(screen.getByTestId('chat-input')).toHaveValue('Lost in transit')
  })
})

describe('a conversation restored from the archive', () => {
  const said = [
    { sender: 'cj', content: 'Hi, I am CJ.', timestamp: '2025-01-01T10:00:00Z' },
    { sender: 'user', content: 'What can you do?', timestamp: '2025-01-01T10:00:05Z' },
    { sender: 'cj', content: 'Lots of things.', timestamp: '2025-01-01T10:00:06Z' },
    { sender: 'user', content: 'Tell me about refunds', timestamp: '2025-01-01T10:05:00Z' },
    { sender: 'cj', content: 'Refunds take 5 days.', timestamp: '2025-01-01T10:05:01Z' },
  ]

  function startWithCopy() {
    sessionStorage.setItem(LOCAL_COPY_PREFIX + CONVERSATION_ID, JSON.stringify(said))
    const fake = renderChat()
    fake.last().open()
    return fake
  }

  it('names the messages that could not be recovered and keeps them on screen, marked', () => {
    const { last } = startWithCopy()
    last().receive({
      type: 'conversation_started',
      resumed: true,
      restored: true,
      archived_at: '2025-01-01T10:01:00Z',
      messages: said.slice(0, 3),
    })
    const notice = screen.getByTestId('restored-notice')
    expect(notice).toHaveTextContent('2 messages could not be recovered')
    expect(within(notice).getByTestId('restored-lost')).toHaveTextContent('You: “Tell me about refunds”')
    expect(within(notice).getByTestId('restored-lost')).toHaveTextContent('CJ: “Refunds take 5 days.”')
    const bubbles = [...screen.getAllByTestId(/^message-(cj|user)$/)]
    expect(bubbles.map((b) => b.querySelector('.bubble__text')?.textContent)).toEqual(said.map((m) => m.content))
    const lost = bubbles.filter((b) => b.dataset.lost === 'true')
    expect(lost.map((b) => b.querySelector('.bubble__text')?.textContent)).toEqual([
      'Tell me about refunds',
      'Refunds take 5 days.',
    ])
    expect(screen.getAllByTestId('not-saved')).toHaveLength(2)
  })

  it('says nothing when the archive had everything', () => {
    const { last } = startWithCopy()
    last().receive({ type: 'conversation_started', resumed: true, restored: true, archived_at: null, messages: said })
    expect(screen.queryByTestId('restored-notice')).not.toBeInTheDocument()
    expect(screen.queryByTestId('not-saved')).not.toBeInTheDocument()
  })

  it('is not compared when the server did not restore it', () => {
    const { last } = startWithCopy()
    last().receive({ type: 'conversation_started', resumed: true, messages: said.slice(0, 3) })
    expect(screen.queryByTestId('restored-notice')).not.toBeInTheDocument()
    expect(screen.getAllByTestId(/^message-(cj|user)$/)).toHaveLength(3)
  })

  it('marks everything lost when the server no longer knows the conversation at all', () => {
    // Redis lost it before it was ever archived: the server starts it anew (resumed: false).
    const { last } = startWithCopy()
    last().receive({ type: 'conversation_started', resumed: false, restored: false, archived_at: null, messages: [] })
    last().receive({ type: 'cj_message', content: 'Hi, I am CJ.', timestamp: '2025-01-01T12:00:00Z', message_id: 'g2' })
    const notice = screen.getByTestId('restored-notice')
    expect(notice).toHaveTextContent('5 messages could not be recovered')
    expect(notice).toHaveTextContent('lost this conversation before it was saved')
    expect(notice).not.toHaveTextContent('archive')
    expect(within(notice).getByTestId('restored-lost')).toHaveTextContent('You: “Tell me about refunds”')
    expect(screen.getAllByTestId('not-saved')).toHaveLength(5)
    const texts = screen.getAllByTestId(/^message-(cj|user)$/).map((b) => b.querySelector('.bubble__text')?.textContent)
    expect(texts).toEqual([...said.map((m) => m.content), 'Hi, I am CJ.'])
  })

  it('says nothing when a conversation this tab only saw greeted starts anew', () => {
    sessionStorage.setItem(LOCAL_COPY_PREFIX + CONVERSATION_ID, JSON.stringify(said.slice(0, 1)))
    const { last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', resumed: false, restored: false, messages: [] })
    expect(screen.queryByTestId('restored-notice')).not.toBeInTheDocument()
  })

  it('keeps the lost messages, in place, after later replies and a reconnect', () => {
    vi.useFakeTimers()
    const { sockets, last } = startWithCopy()
    last().receive({ type: 'conversation_started', resumed: true, restored: true, messages: said.slice(0, 3) })
    type('And exchanges?')
    last().receive({ type: 'cj_message', content: 'Those too.', timestamp: '2025-01-01T11:00:01Z', message_id: 'x1' })
    last().drop()
    vi.advanceTimersByTime(1000)
    sockets[1].open()
    sockets[1].receive({
      type: 'conversation_started',
      resumed: true,
      messages: [
        ...said.slice(0, 3),
        { sender: 'user', content: 'And exchanges?', timestamp: '2025-01-01T11:00:00Z' },
        { sender: 'cj', content: 'Those too.', timestamp: '2025-01-01T11:00:01Z' },
      ],
    })
    const texts = screen.getAllByTestId(/^message-(cj|user)$/).map((b) => b.querySelector('.bubble__text')?.textContent)
    expect(texts).toEqual([...said.map((m) => m.content), 'And exchanges?', 'Those too.'])
    expect(screen.getAllByTestId('not-saved')).toHaveLength(2)
  })
})

describe('the chat window', () => {
  it('has the focus in the message box on load', () => {
    renderChat()
    expect(screen.getByTestId('chat-input')).toHaveFocus()
  })

  it('separates days and shows a date on times that are not today', () => {
    const { last } = renderChat()
    last().open()
    const today = new Date()
    const yesterday = new Date(today.getTime() - 24 * 3600 * 1000)
    last().receive({
      type: 'conversation_started',
      resumed: true,
      messages: [
        { sender: 'user', content: 'Old question', timestamp: '2024-03-12T09:00:00Z' },
        { sender: 'cj', content: 'Old answer', timestamp: '2024-03-12T09:00:01Z' },
        { sender: 'user', content: 'Yesterday question', timestamp: yesterday.toISOString() },
        { sender: 'user', content: 'Today question', timestamp: today.toISOString() },
      ],
    })
    const separators = screen.getAllByTestId('date-separator').map((s) => s.textContent)
    expect(separators).toEqual(['12 March 2024', 'Yesterday', 'Today'])
    const times = screen.getAllByTestId(/^message-(cj|user)$/).map((b) => b.querySelector('time')?.textContent ?? '')
    expect(times[0]).toMatch(/^12 Mar 2024, /)
    expect(times[3]).not.toMatch(/Mar|,/)
  })

  it('offers to keep writing in a conversation that ended', () => {
    const onContinue = vi.fn()
    const { last } = renderChat({ onContinue })
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    last().receive({ type: 'conversation_ended' })
    fireEvent.click(screen.getByTestId('continue-ended'))
    expect(onContinue).toHaveBeenCalledTimes(1)
  })

  it('shows no welcome banner after connecting: CJ says it, the banner only tells screen readers', () => {
    const { last } = renderChat()
    last().open()
    last().receive({ type: 'conversation_started', messages: [] })
    last().receive({ type: 'oauth_processed', success: true, is_new: true })
    expect(screen.getByTestId('oauth-notice')).toHaveClass('visually-hidden')
    expect(screen.getByTestId('oauth-notice')).not.toHaveTextContent(/welcome/i)
  })
})
