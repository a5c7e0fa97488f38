import type { ChatMessage, ConversationSummary } from '../types'
import { condenseTitle } from './format'

const PREVIEW_LENGTH = 120

function shorten(text: string, length: number): string {
  const words = text.replace(/\s+/g, ' ').trim()
  return words.length > length ? `${words.slice(0, length - 1)}…` : words
}

/**
 * The sidebar's row for the chat on screen, until the server lists it (it lists a chat once it
 * is archived, about a minute after its last message). None before the merchant wrote, as the
 * server does not list such chats either.
 */
export function liveEntryOf(conversationId: string, messages: ChatMessage[]): ConversationSummary | null {
  const first = messages.find((message) => message.sender === 'user' && !message.lost)
  if (!first) return null
  const last = messages[messages.length - 1]
  return {
    id: conversationId,
    workflow: null,
    title: condenseTitle(first.content),
    preview: shorten(last.content, PREVIEW_LENGTH),
    started_at: messages[0].timestamp,
    ended_at: null,
    message_count: messages.length,
    metadata: null,
  }
}
