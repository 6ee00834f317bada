import Testing
@testable import Recipes

@Suite struct SmokeTests {
    @Test func printsArithmetic() throws {
        #expect(try output("print(1 + 2 * 3)") == "7\n")
        #expect(try output("let x = 2.5\nprint(x * 2, [1.5, 2])") == "5.0 [1.5, 2.0]\n")
        #expect(try output(#"let name = "world"; print("hello \(name)!")"#) == "hello world!\n")
    }

    @Test func errors() {
        print(failure("class A {}"))
        print(failure("print(undefinedName)"))
        print(failure("seed(valu: 3)"))
        print(failure("print(1 +)"))
        print(failure("let x = 1\nlet y = x * 2.5"))
    }
}
