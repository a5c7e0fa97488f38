import { useEffect, useState } from 'react'
import { getProfile } from '../api/history'
import { formatDate } from '../lib/format'
import type { UserProfile } from '../types'

interface ProfileHeaderProps {
  userId: string
  token: string
}

/** Who the history belongs to; quietly shows just the user id if the profile cannot load. */
export function ProfileHeader({ userId, token }: ProfileHeaderProps) {
  const [profile, setProfile] = useState<UserProfile | null>(null)

  useEffect(() => {
    let cancelled = false
    setProfile(null)
    getProfile(userId, token)
      .then((loaded) => {
        if (!cancelled) setProfile(loaded)
      })
      .catch(() => {
        // The page's own request reports auth and network problems.
      })
    return () => {
      cancelled = true
    }
  }, [userId, token])

  const title = profile?.name || profile?.shop_domain || 'Your account'
  return (
    <div className="profile" data-testid="profile">
      <span className="avatar avatar--large avatar--store" aria-hidden="true">
        {(profile?.shop_domain ?? userId).replace(/^usr_/, '').charAt(0).toUpperCase()}
      </span>
      <div className="profile__text">
        <p className="profile__name">{title}</p>
        <p className="profile__meta">
          <code data-testid="user-id">{userId}</code>
          {profile?.shop_domain && profile.shop_domain !== title && <> · {profile.shop_domain}</>}
          {profile?.email && <> · {profile.email}</>}
        </p>
        {profile && (
          <p className="profile__meta" data-testid="profile-stats">
            {profile.stats.total_conversations} conversation
            {profile.stats.total_conversations === 1 ? '' : 's'}
            {profile.created_at && <> · member since {formatDate(profile.created_at)}</>}
          </p>
        )}
      </div>
    </div>
  )
}
