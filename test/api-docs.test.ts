import * as path from 'path';
import * as ts from 'typescript';

/**
 * Every export of the public API, and every member and prop of it, has JSDoc;
 * every optional prop says its @default.
 */
function undocumented(): string[] {
  const entry = path.join(__dirname, '..', 'src', 'index.ts');
  const program = ts.createProgram([entry], { strict: true, preserveSymlinks: true });
  const checker = program.getTypeChecker();
  const mod = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const problems: string[] = [];
  const hasDoc = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim().length > 0;
  for (let sym of checker.getExportsOfModule(mod)) {
    if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    const name = sym.getName();
    if (!hasDoc(sym)) problems.push(`${name}: no JSDoc`);
    const decl = sym.declarations?.[0];
    if (!decl) continue;
    if (ts.isInterfaceDeclaration(decl) || ts.isClassDeclaration(decl) || ts.isEnumDeclaration(decl)) {
      for (const member of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(sym))) {
        const md = member.declarations?.[0];
        if (!md || md.getSourceFile().fileName.includes('node_modules')) continue;
        const mods = ts.canHaveModifiers(md) ? ts.getModifiers(md) ?? [] : [];
        if (mods.some(m => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
        if (member.getName().startsWith('_')) continue;
        if (!hasDoc(member)) problems.push(`${name}.${member.getName()}: no JSDoc`);
        if (ts.isPropertySignature(md) && md.questionToken && !ts.getJSDocTags(md).some(t => t.tagName.text === 'default')) {
          problems.push(`${name}.${member.getName()}: optional prop without @default`);
        }
      }
    }
  }
  return problems;
}

test('the public API is documented, with @default on every optional prop', () => {
  expect(undocumented()).toEqual([]);
});
