import { useProfile } from '../hooks/historyQueries'
import { formatDate } from '../lib/format'
import { shopName } from '../lib/shop'
import type { Session } from '../types'
import { AccountDetails } from './AccountDetails'

interface ProfileHeaderProps {
  userId: string
  session: Session
}

/** Whose history this is, with its counts (refetched after a delete); quiet if it cannot load. */
export function ProfileHeader({ userId, session }: ProfileHeaderProps) {
  const { data: profile } = useProfile(userId, session.token)
  const shop = profile?.shop_domain ?? session.shop
  const title = profile?.name || (shop ? shopName(shop) : 'Your account')
  return (
    <div className="profile" data-testid="profile">
      <span className="avatar avatar--large avatar--store" aria-hidden="true">
        {title.charAt(0).toUpperCase()}
      </span>
      <div className="profile__text">
        <p className="profile__name">{title}</p>
        {profile && (
          <p className="profile__meta" data-testid="profile-stats">
            {profile.stats.total_conversations} conversation
            {profile.stats.total_conversations === 1 ? '' : 's'}
            {profile.created_at && <> · member since {formatDate(profile.created_at)}</>}
          </p>
        )}
        <details className="profile__details">
          <summary>Account details</summary>
          <AccountDetails session={{ ...session, userId, shop: shop ?? null }} email={profile?.email} />
        </details>
      </div>
    </div>
  )
}
