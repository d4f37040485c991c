-- Whether a stored element is the 'complete' event. The cheap substring test spares a JSON decode of nearly every
-- element; the decode makes the answer exact. Put before the scripts that use it.
local function is_complete(element)
  if not element or not string.find(element, 'complete', 1, true) then return false end
  local ok, decoded = pcall(cjson.decode, element)
  return ok and type(decoded) == 'table' and decoded['type'] == 'complete'
end
