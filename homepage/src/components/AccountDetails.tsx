import type { Session } from '../types'

interface AccountDetailsProps {
  session: Session
  email?: string | null
}

/** The internal ids, for support questions; only here, never in a header. */
export function AccountDetails({ session, email }: AccountDetailsProps) {
  return (
    <dl className="account-details" data-testid="account-details">
      {session.shop && (
        <>
          <dt>Store</dt>
          <dd>{session.shop}</dd>
        </>
      )}
      {email && (
        <>
          <dt>Email</dt>
          <dd>{email}</dd>
        </>
      )}
      <dt>User id</dt>
      <dd>
        <code data-testid="user-id">{session.userId}</code>
      </dd>
      {session.merchantId && (
        <>
          <dt>Merchant id</dt>
          <dd>
            <code>{session.merchantId}</code>
          </dd>
        </>
      )}
    </dl>
  )
}
