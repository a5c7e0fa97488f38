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
