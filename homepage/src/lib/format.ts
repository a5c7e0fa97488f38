function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? null : date
}

/** "14:05" in the reader's locale, or '' for a missing/invalid time. */
export function formatTime(iso: string | null | undefined): string {
  const date = parse(iso)
  return date ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : ''
}

/** "Mar 4, 2025, 14:05" in the reader's locale, or a dash. */
export function formatDateTime(iso: string | null | undefined): string {
  const date = parse(iso)
  if (!date) return '—'
  return date.toLocaleString([], {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  })
}

export function formatDate(iso: string | null | undefined): string {
  const date = parse(iso)
  return date ? date.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' }) : '—'
}

/** "shopify_onboarding" → "Shopify onboarding". */
export function workflowLabel(workflow: string | null | undefined): string {
  if (!workflow) return 'Conversation'
  const words = workflow.replace(/[_-]+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

// Dates read "12 March" (day before month), whatever the browser's locale; times follow it.
const DATE_LOCALE = 'en-GB'
const MINUTE = 60_000
const HOUR = 60 * MINUTE

function startOfDay(date: Date): number {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime()
}

/** Whole calendar days from `date` to `now` (0 = today, 1 = yesterday). */
function daysAgo(date: Date, now: Date): number {
  return Math.round((startOfDay(now) - startOfDay(date)) / (24 * HOUR))
}

function dayAndMonth(date: Date, now: Date, month: 'long' | 'short' = 'long'): string {
  return date.toLocaleDateString(DATE_LOCALE, {
    day: 'numeric',
    month,
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  })
}

/** "Just now", "5 min ago", "2 h ago", "Yesterday", "Monday", "12 March", "12 March 2024". */
export function formatRelative(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parse(iso)
  if (!date) return ''
  const elapsed = now.getTime() - date.getTime()
  const days = daysAgo(date, now)
  if (elapsed < MINUTE) return 'Just now'
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`
  if (days <= 0) return `${Math.floor(elapsed / HOUR)} h ago`
  if (days === 1) return 'Yesterday'
  if (days < 7) return date.toLocaleDateString(DATE_LOCALE, { weekday: 'long' })
  return dayAndMonth(date, now)
}

/** A chat's date separator: "Today", "Yesterday", "12 March" (with the year when not this one). */
export function dayLabel(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parse(iso)
  if (!date) return ''
  const days = daysAgo(date, now)
  if (days === 0) return 'Today'
  if (days === 1) return 'Yesterday'
  return dayAndMonth(date, now)
}

/** The calendar day of a timestamp, for grouping ("" when missing). */
export function dayKey(iso: string | null | undefined): string {
  const date = parse(iso)
  return date ? `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}` : ''
}

/** A message's time: "14:05" today, "12 Mar, 14:05" on another day. */
export function formatMessageTime(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parse(iso)
  if (!date) return ''
  const time = formatTime(iso)
  return daysAgo(date, now) === 0 ? time : `${dayAndMonth(date, now, 'short')}, ${time}`
}

export const UNTITLED = 'Untitled chat'
const TITLE_LENGTH = 60

/** The merchant's words condensed to at most 60 characters, cut at a word boundary. */
export function condenseTitle(text: string): string {
  const words = text.replace(/\s+/g, ' ').trim()
  if (words.length <= TITLE_LENGTH) return words
  const cut = words.slice(0, TITLE_LENGTH - 1)
  const space = cut.lastIndexOf(' ')
  return `${(space > 20 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, '')}…`
}

/** A conversation's title, or "Untitled chat" for rows archived before titles existed. */
export function titleOf(row: { title?: string | null }): string {
  return row.title?.trim() || UNTITLED
}
