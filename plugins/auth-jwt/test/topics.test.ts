// The filter algebra behind subscription checks, and %u/%c substitution: pure functions, checked exhaustively on small cases.
import assert from 'node:assert/strict'
import { topicMatches } from '@embedmq/core'
import { compileAcl, filterCovers, filtersIntersect, substitute } from '../src/index.js'

describe('auth-jwt: topic filter relations', () => {
  it('covers: every topic the requested filter matches is matched by the granted one', () => {
    const yes: Array<[string, string]> = [
      ['sensors/anna/#', 'sensors/anna/+/temp'], ['sensors/anna/#', 'sensors/anna'], ['sensors/anna/#', 'sensors/anna/#'],
      ['#', '#'], ['#', 'a/+/c'], ['+/+', 'a/+'], ['a/+/c', 'a/b/c'], ['+', '+'], ['$SYS/#', '$SYS/broker/+'], ['a//b', 'a//b']
    ]
    const no: Array<[string, string]> = [
      ['sensors/anna/#', '#'], ['+', '#'], ['a/+', 'a/#'], ['a/b', 'a/+'], ['a', 'a/#'], ['a/#', 'b/#'], ['a/+/#', 'a'],
      ['#', '$SYS/#'], ['+/broker', '$SYS/broker'], ['sensors/anna/#', 'sensors/annabel/x'], ['a/b', 'a/b/c'], ['a/b/c', 'a/b']
    ]
    for (const [g, r] of yes) assert.ok(filterCovers(g, r), `${g} covers ${r}`)
    for (const [g, r] of no) assert.ok(!filterCovers(g, r), `${g} does not cover ${r}`)
  })

  it('intersect: some topic is matched by both filters', () => {
    const yes: Array<[string, string]> = [
      ['#', 'sensors/anna/#'], ['sensors/+/temp', 'sensors/anna/#'], ['+/+', 'a/#'], ['a/#', 'a'], ['+/#', 'x'], ['$SYS/#', '$SYS/+'], ['#', '#']
    ]
    const no: Array<[string, string]> = [
      ['#', '$SYS/#'], ['+/x', '$SYS/x'], ['a/+', 'a'], ['a/b', 'a/c'], ['sensors/bob/#', 'sensors/anna/#'], ['a/+/c', 'a/b/d'], ['a', 'a/b']
    ]
    for (const [a, b] of yes) assert.ok(filtersIntersect(a, b) && filtersIntersect(b, a), `${a} and ${b} meet`)
    for (const [a, b] of no) assert.ok(!filtersIntersect(a, b) && !filtersIntersect(b, a), `${a} and ${b} never meet`)
  })

  it('agrees with topic matching on every small filter and topic (brute force)', () => {
    const levels = ['a', 'b', '$s', '']
    const topics: string[] = []
    const build = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) topics.push(prefix.join('/'))
      if (depth === 0) return
      for (const l of levels) build([...prefix, l], depth - 1)
    }
    build([], 3)
    const filters: string[] = []
    const buildF = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) filters.push(prefix.join('/'))
      if (prefix.length > 0 && prefix.length < 3) filters.push([...prefix, '#'].join('/'))
      if (depth === 0) return
      for (const l of ['a', '$s', '', '+']) buildF([...prefix, l], depth - 1)
    }
    buildF([], 3)
    filters.push('#')
    // Topics up to 3 levels stand in for "every topic" of these filters, plus one deeper probe per '#'.
    const probe = [...topics, ...topics.map(t => `${t}/a/b`)]
    for (const g of filters) {
      for (const r of filters) {
        const matchedByR = probe.filter(t => topicMatches(r, t))
        const covered = matchedByR.every(t => topicMatches(g, t))
        const meet = matchedByR.some(t => topicMatches(g, t))
        assert.equal(filterCovers(g, r), covered, `covers(${g}, ${r})`)
        assert.equal(filtersIntersect(g, r), meet, `intersect(${g}, ${r})`)
      }
    }
  })
})

describe('auth-jwt: ACL compilation', () => {
  it('substitutes %u and %c, refusing values that would escape a level', () => {
    assert.deepEqual(substitute('sensors/%u/%c/#', 'anna', 'dev-1'), { filter: 'sensors/anna/dev-1/#' })
    assert.deepEqual(substitute('users/%u-data', 'anna', 'x'), { filter: 'users/anna-data' })
    for (const bad of ['+', '#', 'a/b', '', 'x\u0000']) {
      assert.ok('problem' in substitute('devices/%c/#', 'anna', bad), `client id ${JSON.stringify(bad)}`)
      assert.ok('problem' in substitute('devices/%u/#', bad, 'c'), `username ${JSON.stringify(bad)}`)
    }
    assert.ok('problem' in substitute('devices/%u', undefined, 'c'))
  })

  it('distinguishes missing claims from empty ones', () => {
    const paths = { publishClaim: 'acl.pub', subscribeClaim: 'acl.sub' }
    assert.deepEqual(compileAcl({ sub: 'anna' }, paths, 'anna', 'c').acl, { kind: 'missing' })
    assert.deepEqual(compileAcl({ acl: { pub: 'a/%u' } }, paths, 'anna', 'c').acl, { kind: 'granted', publish: ['a/anna'], subscribe: [] })
    assert.deepEqual(compileAcl({ acl: { pub: [], sub: ['x/#', 'bad/#/y', 7] } }, paths, 'anna', 'c'), {
      acl: { kind: 'granted', publish: [], subscribe: ['x/#'] },
      problems: [
        { claim: 'acl.sub', problem: 'has 1 entry that is not a string' },
        { claim: 'acl.sub', entry: 'bad/#/y', problem: "is not a valid topic filter: it '#' must be a whole level, and the last one" }
      ]
    })
  })
})
