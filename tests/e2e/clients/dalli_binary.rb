# Ruby's Dalli (3.0.x speaks only the binary protocol) against HOST:PORT.
# Usage: ruby dalli_binary.rb HOST PORT [USER PASS [--check-refusal]]
# Prints one line per check; exits 1 at the first mismatch, 2 on bad usage,
# 3 (skip) for a Dalli without the binary protocol (4.x).
# --check-refusal: stores a key as USER/PASS, then checks that a client with a
# wrong password and a client without credentials can neither write nor read.
require 'logger'
require 'securerandom'
begin
  require 'dalli'
rescue LoadError
  warn 'Dalli is missing (apt-get install ruby-dalli)'
  exit 2
end

args = ARGV.dup
refusal = !args.delete('--check-refusal').nil?
unless [2, 4].include?(args.size) && (!refusal || args.size == 4)
  warn 'usage: ruby dalli_binary.rb HOST PORT [USER PASS [--check-refusal]]'
  exit 2
end
host, port, user, pass = args
Dalli.logger = Logger.new($stderr, level: Logger::WARN)
puts "Dalli #{Dalli::VERSION}"
if Gem::Version.new(Dalli::VERSION) >= Gem::Version.new('4')
  puts "SKIP: Dalli #{Dalli::VERSION} no longer speaks the binary protocol"
  exit 3
end

def check(what, got, want)
  unless got == want && got.class == want.class
    puts "FAIL #{what}: got #{got.inspect}, want #{want.inspect}"
    exit 1
  end
  puts "ok #{what}"
end

def client(host, port, user, pass)
  opts = { socket_timeout: 5, socket_max_failures: 0, down_retry_delay: 0,
           compress: false, value_max_bytes: 2 * 1024 * 1024 }
  opts.update(username: user, password: pass) if user
  # The option exists from Dalli 3.2 on (which may default to the meta protocol).
  opts[:protocol] = :binary if Gem::Version.new(Dalli::VERSION) >= Gem::Version.new('3.2')
  Dalli::Client.new("#{host}:#{port}", opts)
end

# true when the block raised a Dalli error or gave nil/false
def refused?
  r = yield
  r.nil? || r == false
rescue Dalli::DalliError, Dalli::RingError, Dalli::NetworkError => e
  puts "  (#{e.class}: #{e.message})"
  true
end

dc = client(host, port, user, pass)

if refusal
  check('authenticated set', dc.set('rb:secret', 'hidden').is_a?(Integer), true)
  { 'wrong password' => [user, pass + 'x'], 'no credentials' => [nil, nil] }.each do |what, (u, p)|
    bad = client(host, port, u, p)
    check("#{what}: set refused", refused? { bad.set('rb:secret', 'overwritten') }, true)
    check("#{what}: get reads nothing", refused? { bad.get('rb:secret') }, true)
    bad.close
  end
  check('secret unchanged', dc.get('rb:secret'), 'hidden')
  puts 'DALLI REFUSAL OK'
  exit 0
end

# version (0x0b, sent on every connect) and stats (0x10, one response per stat)
ver = dc.version
check("version #{ver.inspect}", ver.size == 1 && ver.values.first.to_s.match?(/\A\d+\.\d+/), true)
st = dc.stats.values.first
check("stats (#{st.is_a?(Hash) ? "#{st.size} values" : st.inspect})",
      st.is_a?(Hash) && st.key?('curr_items') && st.key?('pid'), true)

# set / get; set answers the new CAS in its response header
c1 = dc.set('rb:k1', 'v1')
check('set returns a cas', c1.is_a?(Integer) && c1.positive?, true)
check('get', dc.get('rb:k1'), 'v1')
check('get missing', dc.get('rb:nope'), nil)
check('set object', dc.set('rb:obj', { a: [1, 2] }).is_a?(Integer), true)
check('get object', dc.get('rb:obj'), { a: [1, 2] }) # Marshal, flag bit 0

# multi-get: getkq per key + noop
dc.set('rb:m1', 'one')
dc.set('rb:m2', 'two')
check('get_multi', dc.get_multi('rb:m1', 'rb:m2', 'rb:nope', 'rb:k1'),
      { 'rb:m1' => 'one', 'rb:m2' => 'two', 'rb:k1' => 'v1' })
check('get_multi none', dc.get_multi('rb:x1', 'rb:x2'), {})

# quiet commands in a multi block: setq/deleteq, then a noop
dc.multi do
  dc.set('rb:q1', 'a')
  dc.set('rb:q2', 'b')
  dc.delete('rb:m2')
end
check('after multi block', dc.get_multi('rb:q1', 'rb:q2', 'rb:m2'), { 'rb:q1' => 'a', 'rb:q2' => 'b' })

# add / replace / append / prepend (raw strings)
check('add new', dc.add('rb:a', 'mid', 0, raw: true).is_a?(Integer), true)
check('add existing', dc.add('rb:a', 'x', 0, raw: true), false)
# Dalli 3.0 answers the CAS of the reply header, 0 on "not found"
check('replace missing', dc.replace('rb:nope', 'x', 0, raw: true), 0)
check('replace', dc.replace('rb:a', 'mid', 0, raw: true).is_a?(Integer), true)
check('append', dc.append('rb:a', '-tail'), true)
check('prepend', dc.prepend('rb:a', 'head-'), true)
check('get appended', dc.get('rb:a', raw: true), 'head-mid-tail')
check('append missing', dc.append('rb:nope', 'x'), false)

# delete
check('delete', dc.delete('rb:m1'), true)
check('delete again', dc.delete('rb:m1'), nil)
check('get deleted', dc.get('rb:m1'), nil)

# incr / decr: 64-bit counters; no default -> exptime 0xffffffff (do not create)
dc.set('rb:n', '10', 0, raw: true)
check('incr', dc.incr('rb:n', 5), 15)
check('decr to floor', dc.decr('rb:n', 20), 0)
check('incr again', dc.incr('rb:n', 2**64 - 1), 2**64 - 1)
check('incr wraps', dc.incr('rb:n', 2), 1)
check('incr missing', dc.incr('rb:nocount', 1), nil)
check('incr with default', dc.incr('rb:init', 1, 0, 100), 100)
check('decr with default', dc.decr('rb:init', 1, 0, 100), 99)
check('get counter', dc.get('rb:init', raw: true), '99 ')

# cas
value, cas = dc.get_cas('rb:k1')
check('get_cas value', value, 'v1')
check('get_cas token', cas, c1)
c2 = dc.set_cas('rb:k1', 'v2', cas)
check('set_cas', c2.is_a?(Integer) && c2 != cas, true)
check('set_cas stale', dc.set_cas('rb:k1', 'v3', cas), false)
check('after set_cas', dc.get('rb:k1'), 'v2')
check('cas block', dc.cas('rb:k1') { |v| v + '!' }.is_a?(Integer), true)
check('cas block missing', dc.cas('rb:nope') { |v| v + '!' }, nil)
check('after cas block', dc.get('rb:k1'), 'v2!')
check('get_multi_cas', dc.get_multi_cas('rb:k1').keys, ['rb:k1'])
_, cas3 = dc.get_cas('rb:k1')
check('delete_cas stale', dc.delete_cas('rb:k1', cas3 + 1), false)
check('delete_cas', dc.delete_cas('rb:k1', cas3), true)

# touch (0x1c) and gat (0x1d)
dc.set('rb:t', 'tv', 100)
check('touch', dc.touch('rb:t', 200), true)
check('touch missing', dc.touch('rb:nope', 200), nil)
check('gat', dc.gat('rb:t', 300), 'tv')
check('gat missing', dc.gat('rb:nope', 300), nil)

# 500 KB value, uncompressed and compressed (flag bit 1)
big = SecureRandom.random_bytes(500 * 1024)
check('set 500KB', dc.set('rb:big', big, 0, raw: true).is_a?(Integer), true)
got = dc.get('rb:big', raw: true)
check('get 500KB', got.bytesize == big.bytesize && got == big.b, true)
text = 'memg ' * 100_000
check('set compressed', dc.set('rb:z', text, 0, raw: true, compress: true).is_a?(Integer), true)
check('get compressed', dc.get('rb:z', raw: true), text)

# flush (0x08)
check('flush', dc.flush, [true])
check('get after flush', dc.get('rb:t'), nil)
dc.close
puts 'DALLI OK'
