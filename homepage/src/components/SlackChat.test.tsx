import { act, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeSocketFactory } from '../test/fakeSocket'
import type { ChatConfig, OAuthCompletion } from '../types'
import { SlackChat } from './SlackChat'

const CONVERSATION_ID = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f'
const config: ChatConfig = {
  workflow: 'shopify_onboarding',
  conversationId: CONVERSATION_ID,
  merchantId: 'merchant_mystore',
  userId: 'usr_1a2b3c4d',
}

function renderChat(props: Partial<Parameters<typeof SlackChat>[0]> = {}) {
  const fake = fakeSocketFactory()
  const onNewConversation = vi.fn()
  render(
    <SlackChat
      config={config}
      token="aaa.bbb.ccc"
      onNewConversation={onNewConversation}
      socketFactory={fake.factory}
      {...props}
    />,
  )
  return { ...fake, onNewConversation }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('SlackChat', () => {
  it('opens the socket for the conversation and sends start with user id and token', () => {
    const { last } = renderChat()
    const socket = last()
    expect(socket.url).toMatch(new RegExp(`/ws/chat/${CONVERSATION_ID}$`))
    expect(socket.url).not.toContain('aaa.bbb.ccc')
    socket.open()
    expect(socket.sent[0]).toEqual({
      type: 'start',
      workflow: 'shopify_onboarding',
      conversation_id: CONVERSATION_ID,
      merchant_id: 'merchant_mystore',
      user_id: 'usr_1a2b3c4d',
      token: 'aaa.bbb.ccc',
    })
  })

  it('renders replayed and new messages once each, with a typing indicator while waiting', () => {
    const { last } = renderChat()
    const socket = last()
    socket.open()
    const replay = [
      { sender: 'cj', content: 'Hi, I am CJ.', timestamp: '2025-01-01T10:00:00Z' },
      { sender: 'user', content: 'Hello!', timestamp: '2025-01-01T10:00:05Z' },
      { sender: 'cj', content: 'Hi, I am CJ.', timestamp: '2025-01-01T10:00:00Z' },
    ]
    socket.receive({ type: 'conversation_started', conversation_id: CONVERSATION_ID, resumed: true, messages: replay })
    expect(screen.getAllByTestId('message-cj')).toHaveLength(1)
    expect(screen.getAllByTestId('message-user')).toHaveLength(1)

    fireEvent.change(screen.getByTestId('chat-input'), { target: { value: 'What can you do?' } })
    fireEvent.click(screen.getByTestId('send-button'))
    expect(socket.framesOfType('message')).toEqual([{ type: 'message', text: 'What can you do?', message_id: expect.any(String) }])
    expect(screen.getAllByTestId('message-user')).toHaveLength(2)
    expect(screen.getByTestId('typing-indicator')).toBeInTheDocument()
    expect(screen.getByTestId('chat-input')).toHaveValue('')

    const reply = { type: 'cj_message', content: 'Lots of things.', timestamp: '2025-01-01T10:01:00Z', message_id: 'm1' }
    socket.receive(reply)
    socket.receive(reply)
    expect(screen.queryByTestId('typing-indicator')).not.toBeInTheDocument()
    expect(screen.getAllByTestId('message-cj')).toHaveLength(2)
    expect(screen.getByText('Lots of things.')).toBeInTheDocument()

    // A resumed replay after a reconnect replaces, not duplicates.
    socket.receive({
      type: 'conversation_started',
      resumed: true,
      messages: [...replay, { sender: 'user', content: 'What can you do?', timestamp: '2025-01-01T10:00:59Z' }, { sender: 'cj', content: 'Lots of things.', timestamp: '2025-01-01T10:01:00Z' }],
    })
    expect(screen.getAllByTestId('message-cj')).toHaveLength(2)
    expect(screen.getAllByTestId('message-user')).toHaveLength(2)
  })

  it('shows an error frame and hides the typing indicator', () => {
    const { last } = renderChat()
    const socket = last()
    socket.open()
    socket.receive({ type: 'conversation_started', messages: [] })
    fireEvent.change(screen.getByTestId('chat-input'), { target: { value: 'hi' } })
    fireEvent.click(screen.getByTestId('send-button'))
    socket.receive({ type: 'error', text: 'Message too long' })
    expect(screen.getByTestId('chat-error')).toHaveTextContent('Message too long')
    expect(screen.queryByTestId('typing-indicator')).not.toBeInTheDocument()
  })

  it('does not send empty text and caps input at 8,000 characters', () => {
    const { last } = renderChat()
    const socket = last()
    socket.open()
    socket.receive({ type: 'conversation_started', messages: [] })
    const input = screen.getByTestId('chat-input')
    expect(screen.getByTestId('send-button')).toBeDisabled()
    fireEvent.change(input, { target: { value: '   ' } })
    expect(screen.getByTestId('send-button')).toBeDisabled()
    fireEvent.change(input, { target: { value: 'x'.repeat(9000) } })
    expect(input).toHaveValue('x'.repeat(8000))
    expect(screen.getByTestId('char-counter')).toHaveTextContent('8,000 / 8,000')
    expect(socket.framesOfType('message')).toHaveLength(0)
  })

  it('sends oauth_complete once after the conversation starts', () => {
    const completion: OAuthCompletion = {
      isNew: true,
      merchantId: 'merchant_mystore',
      userId: 'usr_1a2b3c4d',
      shop: 'mystore.myshopify.com',
      token: 'aaa.bbb.ccc',
    }
    const onOAuthSent = vi.fn()
    const { last } = renderChat({ pendingOAuth: completion, onOAuthSent })
    const socket = last()
    socket.open()
    expect(socket.framesOfType('oauth_complete')).toHaveLength(0)
    socket.receive({ type: 'conversation_started', messages: [] })
    expect(socket.sent.map((f) => f.type)).toEqual(['start', 'oauth_complete'])
    expect(socket.framesOfType('oauth_complete')[0]).toEqual({
      type: 'oauth_complete',
      oauth_provider: 'shopify',
      is_new: true,
      merchant_id: 'merchant_mystore',
      user_id: 'usr_1a2b3c4d',
      token: 'aaa.bbb.ccc',
    })
    expect(onOAuthSent).toHaveBeenCalledTimes(1)
    socket.receive({ type: 'oauth_processed', success: true, is_new: true, merchant_id: 'merchant_mystore', user_id: 'usr_1a2b3c4d' })
    expect(screen.getByTestId('oauth-notice')).toHaveTextContent(/connected/i)
    socket.receive({ type: 'conversation_started', messages: [] })
    expect(socket.framesOfType('oauth_complete')).toHaveLength(1)
  })

  it('reconnects with backoff to the same conversation and re-sends start', () => {
    vi.useFakeTimers()
    const { sockets, last } = renderChat()
    last().open()
    last().drop()
    expect(screen.getByTestId('reconnecting')).toBeInTheDocument()
    expect(sockets).toHaveLength(1)
    act(() => vi.advanceTimersByTime(1000))
    expect(sockets).toHaveLength(2)
    expect(sockets[1].url).toBe(sockets[0].url)
    sockets[1].drop()
    act(() => vi.advanceTimersByTime(1000))
    expect(sockets).toHaveLength(2) // second wait is 2 s
    act(() => vi.advanceTimersByTime(1000))
    expect(sockets).toHaveLength(3)
    sockets[2].open()
    expect(sockets[2].framesOfType('start')).toHaveLength(1)
    expect(sockets[2].framesOfType('start')[0]).toMatchObject({ conversation_id: CONVERSATION_ID })
    expect(screen.queryByTestId('reconnecting')).not.toBeInTheDocument()
  })

  it('ends the conversation, stops reconnecting and offers a new one', () => {
    vi.useFakeTimers()
    const { sockets, last, onNewConversation } = renderChat()
    const socket = last()
    socket.open()
    socket.receive({ type: 'conversation_started', messages: [] })
    fireEvent.click(screen.getByTestId('header-menu'))
    fireEvent.click(screen.getByTestId('end-chat'))
    expect(socket.framesOfType('end_conversation')).toHaveLength(1)
    socket.receive({ type: 'conversation_ended' })
    expect(screen.getByTestId('conversation-ended')).toHaveTextContent(/ended/)
    expect(screen.queryByTestId('chat-input')).not.toBeInTheDocument()
    socket.drop()
    act(() => vi.advanceTimersByTime(30_000))
    expect(sockets).toHaveLength(1)
    fireEvent.click(screen.getByTestId('start-new-conversation'))
    expect(onNewConversation).toHaveBeenCalled()
  })
})
