import type { ConversationDetail, ConversationPage, UserProfile } from '../types'
import { authorizedFetch } from './http'

const seg = encodeURIComponent

export const PAGE_SIZE = 20

export async function listConversations(
  userId: string,
  token: string,
  options: { before?: string | null; limit?: number } = {},
): Promise<ConversationPage> {
  const query = new URLSearchParams({ limit: String(options.limit ?? PAGE_SIZE) })
  if (options.before) query.set('before', options.before)
  const response = await authorizedFetch(
    `/api/v1/users/${seg(userId)}/conversations?${query.toString()}`,
    token,
  )
  const page = (await response.json()) as ConversationPage
  return { ...page, conversations: page.conversations ?? [], next_cursor: page.next_cursor ?? null }
}

export async function getConversation(
  userId: string,
  conversationId: string,
  token: string,
): Promise<ConversationDetail> {
  const response = await authorizedFetch(
    `/api/v1/users/${seg(userId)}/conversations/${seg(conversationId)}`,
    token,
  )
  const detail = (await response.json()) as ConversationDetail
  return { ...detail, messages: detail.messages ?? [] }
}

export async function deleteConversation(
  userId: string,
  conversationId: string,
  token: string,
): Promise<void> {
  await authorizedFetch(
    `/api/v1/users/${seg(userId)}/conversations/${seg(conversationId)}`,
    token,
    { method: 'DELETE' },
  )
}

export async function getProfile(userId: string, token: string): Promise<UserProfile> {
  const response = await authorizedFetch(`/api/v1/users/${seg(userId)}/profile`, token)
  return (await response.json()) as UserProfile
}

/** Every conversation as JSON Lines, fetched with the token in a header. */
export async function exportConversations(userId: string, token: string): Promise<Blob> {
  const response = await authorizedFetch(`/api/v1/users/${seg(userId)}/export`, token, {
    headers: { Accept: 'application/x-ndjson, application/jsonl, */*' },
  })
  return response.blob()
}
