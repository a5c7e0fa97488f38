import type { ChatMessage, StoredMessage } from '../types'

/** A message as this tab keeps it in its own copy; `lost` once the server's copy lacked it. */
export interface KeptMessage extends StoredMessage {
  lost?: boolean
}

function contentKey(message: StoredMessage): string {
  return `${message.sender}|${message.timestamp}|${message.content}`
}

/** Server-replayed messages as screen messages, duplicates dropped, order kept. */
export function fromStored(stored: StoredMessage[]): ChatMessage[] {
  const seen = new Set<string>()
  const result: ChatMessage[] = []
  stored.forEach((message, index) => {
    if (!message || (message.sender !== 'user' && message.sender !== 'cj')) return
    const key = contentKey(message)
    if (seen.has(key)) return
    seen.add(key)
    result.push({
      id: `replay-${index}-${key}`,
      sender: message.sender,
      content: String(message.content ?? ''),
      timestamp: message.timestamp,
    })
  })
  return result
}

/** Append one message unless the same id, or the same sender+time+text, is already there. */
export function appendUnique(list: ChatMessage[], message: ChatMessage): ChatMessage[] {
  const key = contentKey(message)
  if (list.some((m) => m.id === message.id || contentKey(m) === key)) return list
  return [...list, message]
}

function sameWords(a: StoredMessage, b: StoredMessage): boolean {
  return a.sender === b.sender && a.content === b.content
}

/**
 * This tab's copy with every message the server's copy does not have marked `lost`. The server's
 * copy is walked once: each message of ours must appear after the previous one found. Sender and
 * words are compared, not timestamps (the server stamps a user message with its own clock).
 */
export function markUnrecovered(kept: KeptMessage[], server: StoredMessage[]): KeptMessage[] {
  let next = 0
  return kept.map((message) => {
    if (message.lost) return message
    let at = next
    while (at < server.length && !sameWords(server[at], message)) at += 1
    if (at < server.length) {
      next = at + 1
      return message
    }
    return { ...message, lost: true }
  })
}

/**
 * The server's messages with this tab's lost ones put back where they were: each lost message
 * goes after the last server message that came before it in this tab's copy.
 */
export function withLostMessages(server: StoredMessage[], kept: KeptMessage[]): KeptMessage[] {
  const before = new Map<number, KeptMessage[]>()
  let next = 0
  for (const message of kept) {
    if (message.lost) {
      before.set(next, [...(before.get(next) ?? []), message])
      continue
    }
    let at = next
    while (at < server.length && !sameWords(server[at], message)) at += 1
    if (at < server.length) next = at + 1
  }
  const merged: KeptMessage[] = []
  for (let index = 0; index <= server.length; index += 1) {
    merged.push(...(before.get(index) ?? []))
    if (index < server.length) merged.push(server[index])
  }
  return merged
}

/** Screen messages from `withLostMessages`: duplicates of the server's dropped, lost ones kept. */
export function toScreen(messages: KeptMessage[]): ChatMessage[] {
  const stored = fromStored(messages.filter((message) => !message.lost))
  const byKey = new Map(stored.map((message) => [contentKey(message), message]))
  const result: ChatMessage[] = []
  messages.forEach((message, index) => {
    if (message.lost) {
      result.push({ ...message, id: `lost-${index}-${contentKey(message)}`, lost: true })
      return
    }
    const screen = byKey.get(contentKey(message))
    if (screen) {
      result.push(screen)
      byKey.delete(contentKey(message))
    }
  })
  return result
}

/** How many of `messages` are the user's and say exactly `text`. */
export function countUserSaying(messages: StoredMessage[], text: string): number {
  return messages.filter((message) => message.sender === 'user' && message.content === text).length
}
