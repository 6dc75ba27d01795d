<?php
// PHP's Memcached extension (libmemcached underneath) over the BINARY protocol.
// Usage: php php_binary.php HOST PORT [USER PASS [--check-refusal]]
// Prints one line per check; exits 1 at the first mismatch, 2 on bad usage,
// 3 (skip) when the extension has no SASL and USER PASS are given.
// --check-refusal: stores a key as USER/PASS, then checks that a client with a
// wrong password and a client without credentials can neither write nor read.

if (!extension_loaded('memcached')) {
    fwrite(STDERR, "php-memcached is not loaded (apt-get install php-memcached)\n");
    exit(2);
}
$args = array_slice($argv, 1);
$refusal = false;
if (($i = array_search('--check-refusal', $args, true)) !== false) {
    $refusal = true;
    array_splice($args, $i, 1);
}
if (count($args) != 2 && count($args) != 4 || ($refusal && count($args) != 4)) {
    fwrite(STDERR, "usage: php php_binary.php HOST PORT [USER PASS [--check-refusal]]\n");
    exit(2);
}
list($host, $port) = $args;
$user = $args[2] ?? null;
$pass = $args[3] ?? null;
if ($user !== null && !Memcached::HAVE_SASL) {
    echo "SKIP: php-memcached was built without SASL support\n";
    exit(3);
}
printf("php %s, memcached extension %s, libmemcached %s\n", PHP_VERSION, phpversion('memcached'),
       sprintf('0x%08x (headers)', Memcached::LIBMEMCACHED_VERSION_HEX));

function check($what, $got, $want) {
    if ($got !== $want) {
        printf("FAIL %s: got %s, want %s\n", $what, var_export($got, true), var_export($want, true));
        exit(1);
    }
    printf("ok %s\n", $what);
}

function client($host, $port, $user, $pass) {
    $m = new Memcached();
    $m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
    $m->setOption(Memcached::OPT_COMPRESSION, false);     // the 500 KB value goes as is
    $m->setOption(Memcached::OPT_CONNECT_TIMEOUT, 2000);  // ms
    $m->setOption(Memcached::OPT_POLL_TIMEOUT, 5000);     // ms
    $m->setOption(Memcached::OPT_SEND_TIMEOUT, 5000000);  // us
    $m->setOption(Memcached::OPT_RECV_TIMEOUT, 5000000);  // us
    if ($user !== null) {
        if (!$m->setSaslAuthData($user, $pass)) {
            printf("FAIL setSaslAuthData: %s\n", $m->getResultMessage());
            exit(1);
        }
    }
    $m->addServer($host, (int)$port);
    return $m;
}

$m = client($host, $port, $user, $pass);

if ($refusal) {
    check('authenticated set', $m->set('php:secret', 'hidden'), true);
    foreach (['wrong password' => [$user, $pass . 'x'], 'no credentials' => [null, null]] as $what => $cred) {
        $bad = client($host, $port, $cred[0], $cred[1]);
        check("$what: set refused", $bad->set('php:secret', 'overwritten'), false);
        printf("%s: set refused with %d: %s\n", $what, $bad->getResultCode(), $bad->getResultMessage());
        check("$what: get reads nothing", $bad->get('php:secret'), false);
        check("$what: get not a success", $bad->getResultCode() != Memcached::RES_SUCCESS, true);
    }
    check('secret unchanged', $m->get('php:secret'), 'hidden');
    echo "PHP REFUSAL OK\n";
    exit(0);
}

// version (binary opcode 0x0b)
$v = $m->getVersion();
check('version ' . json_encode($v), is_array($v) && count($v) == 1 && preg_match('/^\d+\.\d+/', reset($v)) == 1, true);

// set / get
check('set', $m->set('php:k1', 'v1'), true);
check('get', $m->get('php:k1'), 'v1');
check('get missing', $m->get('php:nope'), false);
check('get missing code', $m->getResultCode(), Memcached::RES_NOTFOUND);
check('set int', $m->set('php:int', 42), true);
check('get int', $m->get('php:int'), 42);          // type kept in the flags
check('set array', $m->set('php:arr', ['a' => 1]), true);
check('get array', $m->get('php:arr'), ['a' => 1]);

// multi
check('setMulti', $m->setMulti(['php:m1' => 'one', 'php:m2' => 'two', 'php:m3' => 'three']), true);
$got = $m->getMulti(['php:m1', 'php:m2', 'php:m3', 'php:missing']);
ksort($got);
check('getMulti', $got, ['php:m1' => 'one', 'php:m2' => 'two', 'php:m3' => 'three']);

// add / replace / append / prepend (append needs compression off)
check('add new', $m->add('php:a', 'x'), true);
check('add existing', $m->add('php:a', 'y'), false);
// binary statuses: add on a key that exists -> 0x0002 (exists), replace of a
// missing key -> 0x0001 (not found); the text protocol says NOT_STORED to both
check('add existing code', $m->getResultCode(), Memcached::RES_DATA_EXISTS);
check('replace', $m->replace('php:a', 'mid'), true);
check('replace missing', $m->replace('php:nope', 'z'), false);
check('replace missing code', $m->getResultCode(), Memcached::RES_NOTFOUND);
check('append', $m->append('php:a', '-tail'), true);
check('prepend', $m->prepend('php:a', 'head-'), true);
check('after append/prepend', $m->get('php:a'), 'head-mid-tail');

// delete
check('delete', $m->delete('php:m2'), true);
check('delete again', $m->delete('php:m2'), false);
check('delete again code', $m->getResultCode(), Memcached::RES_NOTFOUND);
check('get deleted', $m->get('php:m2'), false);
check('deleteMulti', $m->deleteMulti(['php:m1', 'php:m3']), ['php:m1' => true, 'php:m3' => true]);

// incr / decr (binary: 64-bit counters; initial value only in binary mode)
check('set counter', $m->set('php:n', '10'), true);
check('increment', $m->increment('php:n', 5), 15);
check('decrement', $m->decrement('php:n', 20), 0);
check('increment after floor', $m->increment('php:n', 7), 7);
// memcached rewrites a shorter number in place, space-padded ("15" -> "0 " -> "7 ")
check('get counter', $m->get('php:n'), '7 ');
check('increment missing', $m->increment('php:nocount', 1), false);
check('increment missing code', $m->getResultCode(), Memcached::RES_NOTFOUND);
check('increment with initial', $m->increment('php:init', 1, 100), 100);
check('increment after initial', $m->increment('php:init', 1, 100), 101);

// cas
$r = $m->get('php:k1', null, Memcached::GET_EXTENDED);
check('get extended value', $r['value'], 'v1');
$cas = $r['cas'];
check('cas token nonzero', is_numeric($cas) && $cas != 0, true);
check('cas ok', $m->cas($cas, 'php:k1', 'v2'), true);
check('cas stale', $m->cas($cas, 'php:k1', 'v3'), false);
check('cas stale code', $m->getResultCode(), Memcached::RES_DATA_EXISTS);
check('after cas', $m->get('php:k1'), 'v2');
$r2 = $m->get('php:k1', null, Memcached::GET_EXTENDED);
check('cas changed', $r2['cas'] != $cas, true);
check('cas missing', $m->cas($cas, 'php:nope', 'x'), false);
check('cas missing code', $m->getResultCode(), Memcached::RES_NOTFOUND);
$multi = $m->getMulti(['php:k1'], Memcached::GET_EXTENDED);
check('getMulti extended cas', $multi['php:k1']['cas'] == $r2['cas'], true);

// touch (binary opcode 0x1c)
check('touch', $m->touch('php:k1', 100), true);
check('touch missing', $m->touch('php:nope', 100), false);
check('after touch', $m->get('php:k1'), 'v2');
check('set short', $m->set('php:short', 'x', 1), true);
check('touch to forever', $m->touch('php:short', 0), true);

// 500 KB value
$big = random_bytes(500 * 1024);
check('set 500KB', $m->set('php:big', $big), true);
$got = $m->get('php:big');
check('get 500KB', is_string($got) && strlen($got) == strlen($big) && $got === $big, true);

// flush
check('flush', $m->flush(), true);
check('get after flush', $m->get('php:k1'), false);
echo "PHP OK\n";
exit(0);
