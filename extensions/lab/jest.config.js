/** Frontend unit tests: the form module in jsdom, TypeScript through ts-jest. */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { types: ['jest'], noUnusedLocals: false } }]
  }
};
