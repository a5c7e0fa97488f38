import type { ApiError } from '../api/http'

interface ApiErrorNoticeProps {
  error: ApiError
  /** What was being loaded, for the 404 text: "conversation", "history". */
  subject?: string
  onRetry?: () => void
  /** Smaller, for the sidebar. */
  compact?: boolean
}

function describe(error: ApiError, subject: string): { title: string; body: string; retry: boolean } {
  if (error.status === 403) {
    return {
      title: 'This history belongs to another account',
      body: 'You are signed in as a different user. Open your own history, or sign in with the right store.',
      retry: false,
    }
  }
  if (error.status === 404) {
    return {
      title: `We could not find that ${subject}`,
      body: 'It may have been deleted, or the link is wrong.',
      retry: false,
    }
  }
  if (error.status === 422) {
    return { title: 'That link is not valid', body: 'Check the address and try again.', retry: false }
  }
  if (error.timedOut) {
    return {
      title: 'HireCJ is taking too long to answer',
      body: `${error.message} It may be busy or restarting; try again in a moment.`,
      retry: true,
    }
  }
  if (error.status === null) {
    return {
      title: 'Could not reach HireCJ',
      body: 'Check your connection and try again.',
      retry: true,
    }
  }
  return {
    title: 'Something went wrong',
    body: `The server answered with an error (${error.status}). Please try again.`,
    retry: true,
  }
}

/** A clear message for a failed history request (401 is handled by SignInPrompt). */
export function ApiErrorNotice({ error, subject = 'conversation', onRetry, compact = false }: ApiErrorNoticeProps) {
  const { title, body, retry } = describe(error, subject)
  return (
    <div
      className={`panel panel--error${compact ? ' panel--compact' : ''}`}
      role="alert"
      data-testid="api-error"
      data-status={error.timedOut ? 'timeout' : (error.status ?? 'network')}
    >
      <h2>{title}</h2>
      <p>{body}</p>
      {retry && onRetry && (
        <button type="button" className="button button--primary" data-testid="retry" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  )
}
