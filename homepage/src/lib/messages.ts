import type { ChatMessage, StoredMessage } from '../types'

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
