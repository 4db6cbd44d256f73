import { Type } from '@sinclair/typebox';
import { Emoji, UserId, Uuid } from '../../../../protocol/schemas.ts';

/** Path parameter schemas, closed like every other input. */
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const MemberParams = Type.Object({ id: Uuid, userId: UserId }, { additionalProperties: false });
export const UserParams = Type.Object({ id: UserId }, { additionalProperties: false });
export const ReactionParams = Type.Object({ id: Uuid, emoji: Emoji }, { additionalProperties: false });

/** Routes that take no body refuse one with keys in it, like every other closed object. */
export const NoBody = Type.Object({}, { additionalProperties: false });

