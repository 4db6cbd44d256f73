import type { UpsertUser } from '../../protocol/schemas.ts';
import type { Actor, User } from '../domain/types.ts';
import { checkMetadata } from './metadata.ts';
import type { ServiceDeps } from './deps.ts';
import { notFound } from '../errors.ts';

/** Profiles already written by this process, so a steady stream of requests writes nothing. */
const SEEN_MAX = 10_000;

/**
 * User profiles. The host app owns users: Parley keeps id, name and picture from JWT
 * claims (on first sight and whenever they change) or from the admin API.
 */
export function userService(deps: ServiceDeps) {
  const { store, now } = deps;
  const seen = new Map<string, string>();

  return {
    /** Upserts the profile carried by a token's claims when it differs from the last one seen. */
    async syncFromClaims(profile: { id: string; name?: string; picture?: string; email?: string }): Promise<void> {
      const fingerprint = `${profile.name ?? ''}\u0000${profile.picture ?? ''}\u0000${profile.email ?? ''}`;
      if (seen.get(profile.id) === fingerprint) return;
      await store.users.upsert(profile, now());
      if (seen.size >= SEEN_MAX) seen.delete(seen.keys().next().value!);
      seen.set(profile.id, fingerprint);
    },

    /** Admin upsert: fields omitted keep their value, null clears them. */
    async upsert(id: string, input: UpsertUser): Promise<User> {
      checkMetadata(input.metadata);
      seen.delete(id);
      return store.users.upsert({ id, ...input }, now());
    },

    /**
     * Public profiles (id, name, picture) by id, in the order asked; an id never seen gets a
     * bare profile. Any user may see these: they are what message senders show.
     */
    async profiles(ids: readonly string[]): Promise<User[]> {
      const found = new Map((await store.users.getMany([...new Set(ids)])).map((u) => [u.id, u]));
      return ids.map((id) => found.get(id) ?? { id, name: null, picture: null });
    },

    async me(actor: Actor): Promise<User> {
      const user = await store.users.get(actor.userId);
      if (!user) throw notFound('User not found');
      return { id: user.id, name: user.name, picture: user.picture };
    },
  };
}

export type UserService = ReturnType<typeof userService>;
