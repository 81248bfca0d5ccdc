import { Quantity } from '../src';

describe('Quantity.parse accepts what the API server accepts', () => {
  test.each([
    ['0', '0'], ['1', '1'], ['-1', '-1'], ['+1', '1'], ['1.5', '1.5'], ['5.', '5'], ['.5', '0.5'], ['-.5', '-0.5'],
    ['100m', '0.1'], ['1k', '1000'], ['1M', '1000000'], ['1G', '1000000000'], ['1T', '1000000000000'],
    ['1P', '1000000000000000'], ['1E', '1000000000000000000'],
    ['1Ki', '1024'], ['1Mi', '1048576'], ['1Gi', '1073741824'], ['1Ti', '1099511627776'],
    ['1Pi', '1125899906842624'], ['1Ei', '1152921504606846976'], ['1.5Gi', '1610612736'],
    ['1e3', '1000'], ['1E3', '1000'], ['1e-3', '0.001'], ['1E-3', '0.001'], ['1e+3', '1000'], ['2.5e2', '250'],
    ['0.1m', '0.0001'], ['1n', '0.000000001'], ['250000n', '0.00025'], ['5u', '0.000005'],
    ['0.0000000001', '0.000000001'], ['-0.0000000001', '-0.000000001'], ['12345678901234567890', '12345678901234567890'],
  ])('%s = %s', (text, decimal) => {
    expect(Quantity.parse(text).toDecimalString()).toBe(decimal);
  });

  test('numbers from YAML', () => {
    expect(Quantity.parse(2).equals('2000m')).toBe(true);
    expect(Quantity.parse(0.5).equals('500m')).toBe(true);
  });
});

describe('Quantity.parse rejects invalid strings, quoting them', () => {
  test.each(['', 'Mi', '1.5.5', '10 Mi', ' 1', '1 ', '1mi', '1e', '1Gb', 'm', '.', '-', '+', '1KI', '1ki', '1e1.5', 'abc', '1,5', '1_000', '0x10',
    '1U', '1N', '1K', 'Infinity', 'NaN', '1e3Mi', '--1'])(
    '%j', (text) => {
      expect(() => Quantity.parse(text)).toThrow(`invalid quantity "${text}"`);
    });
  test('isValid answers without throwing', () => {
    expect(Quantity.isValid('1.5Gi')).toBe(true);
    expect(Quantity.isValid(3)).toBe(true);
    expect(Quantity.isValid('1Gb')).toBe(false);
    expect(Quantity.isValid('')).toBe(false);
  });
  test('non-finite numbers', () => {
    expect(() => Quantity.parse(Infinity)).toThrow('invalid quantity Infinity');
  });
});

describe('equal amounts compare equal whatever the spelling', () => {
  test.each([
    ['1', '1000m'], ['1Gi', '1024Mi'], ['1Gi', '1073741824'], ['1024Mi', '1073741824'], ['1k', '1e3'], ['0.5', '500m'],
    ['300m', '0.3'], ['0.1', '100m'], ['0.3', '3e-1'], ['1.5', '1500m'], ['1M', '1e6'],
    ['1Ki', '1.024k'], ['2Gi', '2048Mi'], ['1G', '1000M'], ['0', '0m'], ['0', '-0'], ['1e-3', '1m'], ['1E', '1e18'],
    ['0.0000000001', '1e-9'],
  ])('%s == %s', (a, b) => {
    expect(Quantity.parse(a).equals(b)).toBe(true);
    expect(Quantity.parse(a).compare(b)).toBe(0);
  });
});

describe('unequal amounts compare in order', () => {
  test.each([
    ['1', '1001m'], ['1Gi', '1.1G'], ['1G', '1Gi'], ['999m', '1'], ['-1', '0'], ['512Mi', '1Gi'], ['1000M', '1Gi'],
    ['0.3', '0.30000000001'], ['1n', '2n'],
  ])('%s < %s', (a, b) => {
    expect(Quantity.parse(a).compare(b)).toBe(-1);
    expect(Quantity.parse(b).compare(a)).toBe(1);
    expect(Quantity.parse(a).equals(b)).toBe(false);
  });
});

describe('arithmetic and formatting', () => {
  test('plus and times are exact', () => {
    expect(Quantity.parse('100m').plus(Quantity.parse('200m')).equals('0.3')).toBe(true);
    expect(Quantity.parse('256Mi').times(4).equals('1Gi')).toBe(true);
  });
  test('ceilDiv rounds up', () => {
    expect(Quantity.parse('30').ceilDiv(Quantity.parse('1'))).toBe(30);
    expect(Quantity.parse('2500m').ceilDiv(Quantity.parse('1'))).toBe(3);
    expect(Quantity.parse('2Gi').ceilDiv(Quantity.parse('1Gi'))).toBe(2);
    expect(() => Quantity.parse('1').ceilDiv(Quantity.parse('0'))).toThrow('non-positive');
  });
  test('milliValue is exact and rounds up, as MilliValue does', () => {
    expect(Quantity.parse('1.5').milliValue()).toBe(BigInt(1500));
    expect(Quantity.parse('0.5m').milliValue()).toBe(BigInt(1));
    expect(Quantity.parse('16Ti').milliValue()).toBe(BigInt(16) * BigInt(1024) ** BigInt(4) * BigInt(1000));
  });
  test('canonical spellings', () => {
    expect(Quantity.parse('1073741824').toCanonicalString()).toBe('1Gi');
    expect(Quantity.parse('0.25').toCanonicalString()).toBe('250m');
    expect(Quantity.parse('1.5').toCanonicalString()).toBe('1500m');
    expect(Quantity.parse('2').toCanonicalString()).toBe('2');
    expect(Quantity.fromMillis(1500).equals('1.5')).toBe(true);
  });
  test('toString keeps the spelling as written', () => {
    expect(Quantity.parse('1024Mi').toString()).toBe('1024Mi');
  });
});
