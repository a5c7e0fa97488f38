import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from '@tanstack/react-query'
import {
  deleteConversation,
  exportConversations,
  getConversation,
  getProfile,
  listConversations,
} from '../api/history'
import type { ConversationPage, ConversationSummary } from '../types'

/** Every history query of a user starts with historyKeys.all(userId), so one call refreshes all. */
export const historyKeys = {
  all: (userId: string | null) => ['history', userId] as const,
  list: (userId: string | null) => ['history', userId, 'list'] as const,
  search: (userId: string | null, q: string) => ['history', userId, 'search', q] as const,
  conversation: (userId: string | null, id: string) => ['history', userId, 'conversation', id] as const,
  profile: (userId: string | null) => ['history', userId, 'profile'] as const,
}

type Pages = InfiniteData<ConversationPage, string | null>

/** The loaded pages as one list, each conversation once (pages can overlap while rows move). */
export function flattenPages(data: InfiniteData<ConversationPage, unknown> | undefined): ConversationSummary[] {
  const seen = new Set<string>()
  const rows: ConversationSummary[] = []
  for (const page of data?.pages ?? []) {
    for (const row of page.conversations) {
      if (seen.has(row.id)) continue
      seen.add(row.id)
      rows.push(row)
    }
  }
  return rows
}

interface ListQueryOptions {
  /** Search words; empty lists every conversation. */
  q?: string
  /** Refetch this often while the page is open (the sidebar picks up newly archived chats). */
  refetchInterval?: number | false
}

/** A user's conversations (or the matches of `q`), newest (or best) first, paged by cursor. */
export function useConversationList(
  userId: string | null,
  token: string | null,
  { q = '', refetchInterval = false }: ListQueryOptions = {},
) {
  const words = q.trim()
  return useInfiniteQuery({
    queryKey: words ? historyKeys.search(userId, words) : historyKeys.list(userId),
    queryFn: ({ pageParam, signal }) =>
      listConversations(userId ?? '', token ?? '', { before: pageParam, q: words || null, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    enabled: Boolean(userId && token),
    refetchInterval,
  })
}

export function useConversationDetail(userId: string, conversationId: string, token: string | null) {
  return useQuery({
    queryKey: historyKeys.conversation(userId, conversationId),
    queryFn: ({ signal }) => getConversation(userId, conversationId, token ?? '', signal),
    enabled: Boolean(token),
  })
}

export function useProfile(userId: string, token: string | null) {
  return useQuery({
    queryKey: historyKeys.profile(userId),
    queryFn: ({ signal }) => getProfile(userId, token ?? '', signal),
    enabled: Boolean(token),
  })
}

/**
 * Delete one conversation. Its row leaves every loaded list at once and the profile (its
 * counts) is fetched again; the lists are marked stale, to be fetched again when next shown.
 * A 404 means it is already gone: the same outcome.
 */
export function useDeleteConversation(userId: string, token: string | null) {
  const queryClient = useQueryClient()
  const dropRow = (id: string) => {
    queryClient.setQueriesData<Pages>({ queryKey: historyKeys.all(userId) }, (data) =>
      data?.pages
        ? {
            ...data,
            pages: data.pages.map((page) => ({
              ...page,
              total: page.conversations.some((row) => row.id === id) ? Math.max(0, page.total - 1) : page.total,
              conversations: page.conversations.filter((row) => row.id !== id),
            })),
          }
        : data,
    )
  }
  return useMutation({
    mutationFn: async (conversation: ConversationSummary) => {
      try {
        await deleteConversation(userId, conversation.id, token ?? '')
      } catch (failure) {
        if ((failure as { status?: unknown }).status !== 404) throw failure
      }
    },
    onSuccess: (_result, conversation) => {
      dropRow(conversation.id)
      queryClient.removeQueries({ queryKey: historyKeys.conversation(userId, conversation.id) })
      void queryClient.invalidateQueries({ queryKey: historyKeys.profile(userId) })
      void queryClient.invalidateQueries({ queryKey: historyKeys.all(userId), refetchType: 'none' })
    },
  })
}

export function useExportConversations(userId: string, token: string | null) {
  return useMutation({ mutationFn: () => exportConversations(userId, token ?? '') })
}
