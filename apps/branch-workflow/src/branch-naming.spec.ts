import { branchName, slugFor, slugify, ticketSegment, type BranchNamer } from './branch-naming';

describe('branch naming', () => {
  it('makes lowercase, safe, bounded slugs cut at a word boundary', () => {
    expect(slugify('Add authentication')).toBe('add-authentication');
    expect(slugify('  Fix: the  «Café» crash!! (iOS 17)  ')).toBe('fix-the-cafe-crash-ios-17');
    expect(slugify('Implement the OAuth2 device authorization flow')).toBe('implement-the-oauth2');
    expect(slugify('Supercalifragilisticexpialidocious words')).toBe('supercalifragilisticexpia');
    expect(slugify('../../etc/passwd; rm -rf /')).toBe('etc-passwd-rm-rf');
    expect(slugify('日本語')).toBe('');
    for (const text of ['a'.repeat(100), 'x '.repeat(50), 'Ünïcödé tëxt wïth äccents everywhere']) {
      expect(slugify(text)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(slugify(text).length).toBeLessThanOrEqual(25);
    }
  });

  it('names branches kind/ticket-slug, with -2, -3 for names taken', () => {
    expect(branchName('feature', '123', 'add-auth')).toBe('feature/123-add-auth');
    expect(branchName('fix', 'PROJ_42', 'crash', 2)).toBe('fix/proj-42-crash-2');
    expect(ticketSegment('..T..1..')).toBe('t-1');
  });

  it('uses the namer when it answers something usable and falls back to the title otherwise', async () => {
    const ticket = { id: 'T-1', title: 'Add authentication' };
    const answering = (answer: string | null): BranchNamer => ({ suggestSlug: async () => answer });
    expect(await slugFor(ticket, answering('Login With OAuth Tokens And Refresh Handling'))).toBe(
      'login-with-oauth-tokens',
    );
    expect(await slugFor(ticket, answering('!!!'))).toBe('add-authentication');
    expect(await slugFor(ticket, answering(null))).toBe('add-authentication');
    const errors: unknown[] = [];
    const failing: BranchNamer = { suggestSlug: async () => Promise.reject(new Error('model unavailable')) };
    expect(await slugFor(ticket, failing, (error) => errors.push(error))).toBe('add-authentication');
    expect(errors).toHaveLength(1);
    expect(await slugFor({ id: 'T-2', title: '日本語' })).toBe('work');
  });
});
