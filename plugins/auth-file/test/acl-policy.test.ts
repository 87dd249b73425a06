import assert from 'node:assert/strict'
import { AclPolicy, parseAclFile, type AclSubject } from '../src/index.js'
import { filterCovers, filtersOverlap } from '../src/topic-match.js'

const policy = (text: string): AclPolicy => new AclPolicy(parseAclFile(Buffer.from(text)))
const anna: AclSubject = { username: 'anna', clientId: 'anna-1' }
const guest: AclSubject = { username: undefined, clientId: 'guest-1' }

describe('ACL semantics', () => {
  describe('filter relations', () => {
    const overlaps: Array<[string, string, boolean]> = [
      ['#', 'a/b', true], ['a/#', 'a', true], ['a/+', 'a', false], ['a/+', '+/b', true], ['a/b', 'a/c', false],
      ['#', '$SYS/#', false], ['+/x', '$SYS/x', false], ['$SYS/#', '$SYS/broker/+', true], ['#', '#', true],
      ['sensors/anna/#', '#', true], ['sensors/anna/#', 'sensors/+/temp', true], ['sensors/anna/#', 'sensors/bob/#', false],
      ['a/b/c', 'a/b', false], ['', '+', true], ['a//b', 'a/+/b', true]
    ]
    for (const [a, b, expected] of overlaps) {
      it(`"${a}" and "${b}" ${expected ? 'overlap' : 'do not overlap'}`, () => {
        assert.equal(filtersOverlap(a, b), expected)
        assert.equal(filtersOverlap(b, a), expected, 'symmetric')
      })
    }
    const covers: Array<[string, string, boolean]> = [
      ['#', 'a/b', true], ['#', '#', true], ['a/#', 'a', true], ['a/#', 'a/+/c', true], ['a/+', 'a/#', false],
      ['a/+', 'a/b', true], ['a/b', 'a/+', false], ['#', '$SYS/#', false], ['+/#', '$SYS/x', false],
      ['$SYS/#', '$SYS/broker/uptime', true], ['a/b', 'a/b', true], ['a/b', 'a/b/c', false], ['a/b/#', 'a', false]
    ]
    for (const [outer, inner, expected] of covers) {
      it(`"${outer}" ${expected ? 'covers' : 'does not cover'} "${inner}"`, () => assert.equal(filterCovers(outer, inner), expected))
    }
  })

  it('grants by access: read, write, readwrite and the default readwrite', () => {
    const p = policy('user anna\ntopic read r\ntopic write w\ntopic readwrite rw\ntopic both\n')
    assert.deepEqual(['r', 'w', 'rw', 'both', 'none'].map(t => [p.mayRead(anna, t).allowed, p.mayWrite(anna, t).allowed]),
      [[true, false], [false, true], [true, true], [true, true], [false, false]])
  })

  it('deny wins over any grant, whatever the order of the lines', () => {
    const p = policy('user anna\ntopic deny plant/secret/#\ntopic readwrite plant/#\npattern readwrite plant/secret/%u\n')
    assert.equal(p.mayWrite(anna, 'plant/secret/anna').allowed, false)
    assert.match(p.mayRead(anna, 'plant/secret/x').reason, /denied by "topic deny plant\/secret\/#" \(line 2\)/)
    assert.equal(p.mayRead(anna, 'plant/line').allowed, true)
    assert.equal(p.maySubscribe(anna, 'plant/secret/+').allowed, false, 'a filter entirely under a deny rule is refused')
    assert.equal(p.maySubscribe(anna, 'plant/#').allowed, true, 'a filter partly under a deny rule is granted; deliveries are checked one by one')
  })

  it('lines before the first user line are for clients without a username only', () => {
    const p = policy('topic read public/#\nuser anna\ntopic read sensors/#\n')
    assert.equal(p.mayRead(guest, 'public/x').allowed, true)
    assert.equal(p.mayRead(guest, 'sensors/x').allowed, false)
    assert.equal(p.mayRead(anna, 'public/x').allowed, false, 'a user does not inherit the anonymous section')
    assert.equal(p.mayRead({ username: 'carol', clientId: 'c' }, 'public/x').allowed, false, 'nor does a user without a section')
  })

  it('merges sections of the same user', () => {
    const p = policy('user anna\ntopic read a\nuser bob\ntopic read b\nuser anna\ntopic read c\n')
    assert.deepEqual(['a', 'b', 'c'].map(t => p.mayRead(anna, t).allowed), [true, false, true])
  })

  it('fills %u and %c in patterns, for everyone, wherever the pattern is written', () => {
    const p = policy('user bob\npattern readwrite sensors/%u/#\npattern write devices/%c/status\npattern read x/%u-%c\n')
    assert.equal(p.mayWrite(anna, 'sensors/anna/t').allowed, true)
    assert.equal(p.mayWrite(anna, 'sensors/bob/t').allowed, false)
    assert.equal(p.mayWrite(anna, 'devices/anna-1/status').allowed, true)
    assert.equal(p.mayRead(anna, 'x/anna-anna-1').allowed, true, 'inside a level')
    assert.equal(p.mayWrite(guest, 'devices/guest-1/status').allowed, true, '%c applies to clients without a username')
    assert.equal(p.mayRead(guest, 'sensors/%u/t').allowed, false, '%u patterns do not apply without a username')
  })

  it('a username or client id with / + # does not widen a pattern', () => {
    const p = policy('pattern readwrite sensors/%u/#\npattern write devices/%c/status\n')
    for (const username of ['anna/..', 'bob/x', '+', '#']) {
      assert.equal(p.mayRead({ username, clientId: 'c' }, 'sensors/bob/x/t').allowed, false, username)
      assert.equal(p.maySubscribe({ username, clientId: 'c' }, 'sensors/#').allowed, false, username)
    }
    assert.equal(p.mayWrite({ username: 'u', clientId: 'press/7' }, 'devices/press/7/status').allowed, false)
    assert.equal(p.mayWrite({ username: '%c', clientId: 'x' }, 'sensors/x/t').allowed, false, '%u is filled once: a username "%c" stays literal')
    assert.equal(p.mayWrite({ username: '%c', clientId: 'x' }, 'sensors/%c/t').allowed, true)
  })

  it('keeps $SYS closed unless a rule starting with $SYS opens it', () => {
    const p = policy('user anna\ntopic readwrite #\ntopic read +/broker/#\nuser ops\ntopic read $SYS/broker/#\n')
    assert.equal(p.maySubscribe(anna, '$SYS/#').allowed, false)
    assert.equal(p.mayRead(anna, '$SYS/broker/uptime').allowed, false)
    assert.equal(p.mayRead(anna, 'x/broker/uptime').allowed, true)
    const ops: AclSubject = { username: 'ops', clientId: 'o' }
    assert.equal(p.maySubscribe(ops, '$SYS/#').allowed, true, 'overlaps the grant; deliveries are checked one by one')
    assert.equal(p.mayRead(ops, '$SYS/broker/uptime').allowed, true)
    assert.equal(p.mayRead(ops, '$SYS/other').allowed, false)
  })

  it('an empty file denies everything', () => {
    const p = policy('')
    assert.equal(p.maySubscribe(anna, '#').allowed, false)
    assert.match(p.mayWrite(anna, 'a').reason, /no ACL rule grants write on "a" to user "anna"/)
    assert.match(p.mayWrite(guest, 'a').reason, /client "guest-1" \(no username\)/)
  })

  it('takes topics with spaces when the access is written', () => {
    const p = policy('user anna\ntopic read rooms/living room/temp\n')
    assert.equal(p.mayRead(anna, 'rooms/living room/temp').allowed, true)
  })
})
