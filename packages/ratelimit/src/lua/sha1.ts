// Written by scripts/lua-sha1.ts (run by `pnpm build`): the SHA1 that EVALSHA names each script by.
export const SCRIPT_SHA1 = {
  acquire: "4a2f7f1e68b89c19148e69c3cc316cdeba4c8ac7",
  requests: "ce9c0a16113ba77aa641a006b02ddc8a9e6b37dd",
  settle: "b194b7734c441ee88ddc6c510a660ec1daeb2984",
} as const;
