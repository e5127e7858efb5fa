-- Config hook: every AuthConfig passes through on_load as it is loaded.
local PROTECTED = {prod = true, payments = true}

function on_load(ac)
  local ns = ac.metadata.namespace or "default"
  -- No anonymous access in protected namespaces: neither written nor
  -- implied by an AuthConfig without authentication.
  if PROTECTED[ns] then
    if ac.spec.authentication == nil then
      return nil, "spec.authentication is required in namespace " .. ns
    end
    for name, method in pairs(ac.spec.authentication) do
      if method.anonymous ~= nil then
        return nil, "spec.authentication." .. name ..
                    ": anonymous access is not allowed in namespace " .. ns
      end
    end
  end
  -- Health checks pass unauthenticated, unless the AuthConfig says itself
  -- when it applies.
  if ac.spec.when == nil then
    ac.spec.when = {
      {selector = "request.path", operator = "neq", value = "/healthz"},
    }
    return ac
  end
end
