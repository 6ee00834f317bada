// Members of arrays, ranges and dictionaries, as the Swift standard library names them. Ranges
// have every non-mutating array member (`(0..<10).map { $0 * $0 }`).

extension BuiltinArea {
    static let collections = BuiltinArea(
        "Collections", doc: "Members of arrays, ranges and dictionaries: counting, transforming, sorting, editing.",
        builtins: readers(for: "Array") + readers(for: "Range") + editors + dictionaryMembers + tupleLabels)

    /// The labels Swift gives the pairs of `enumerated()` and of a dictionary's elements.
    private static var tupleLabels: [Builtin] {
        [
            ("offset", 0, "The position, in a pair from `enumerated()`."), ("element", 1, "The element, in a pair from `enumerated()`."),
            ("key", 0, "The key, in a pair from iterating a dictionary."), ("value", 1, "The value, in a pair from iterating a dictionary."),
        ]
        .map { name, index, doc in
            Builtin(name, kind: .property("Tuple"), doc: doc, returns: .any) { args, _ in
                guard case .tuple(let elements) = try args.receiverValue(), elements.count == 2 else {
                    throw RecipeError(.type, "`.\(name)` needs a pair")
                }
                return elements[index]
            }
        }
    }

    private static func readers(for type: String) -> [Builtin] {
        func property(_ name: String, _ doc: String, _ returns: ValueType, _ body: @escaping ([Value]) throws -> Value) -> Builtin {
            Builtin(name, kind: .property(type), doc: doc, returns: returns) { args, _ in
                try body(try args.receiverValue().asArray())
            }
        }
        func method(
            _ name: String, _ doc: String, _ parameters: [Builtin.Parameter] = [], _ returns: ValueType,
            _ body: @escaping ([Value], Arguments) throws -> Value
        ) -> Builtin {
            Builtin(name, kind: .method(type), doc: doc, parameters: parameters, returns: returns) { args, _ in
                try body(try args.receiverValue().asArray(), args)
            }
        }
        let transform = ValueType.function(parameters: [.any], returns: .any)
        let predicate = ValueType.function(parameters: [.any], returns: .bool)
        return [
            property("count", "The number of elements.", .int) { .int($0.count) },
            property("isEmpty", "Whether there are no elements.", .bool) { .bool($0.isEmpty) },
            property("first", "The first element, or nil.", .any) { $0.first ?? .none },
            property("last", "The last element, or nil.", .any) { $0.last ?? .none },
            property("indices", "The valid indices, `0..<count`.", .range) { .range(lower: 0, upper: $0.count) },
            method("map", "The results of `transform` on each element.", [.positional("transform", transform)], .array(.any)) {
                elements, args in
                let f = try args.function("transform")
                return .array(try elements.map { try f.call([$0]) })
            },
            method(
                "filter", "The elements for which `isIncluded` is true.", [.positional("isIncluded", predicate)],
                .array(.any)
            ) { elements, args in
                let f = try args.function("isIncluded")
                return .array(try elements.filter { try f.call([$0]).asBool() })
            },
            method(
                "reduce", "Combines the elements with `next`, starting from `initialResult`: `xs.reduce(0, +)`.",
                [.positional("initialResult", .any), .positional("nextPartialResult", .function(parameters: [.any, .any], returns: .any))],
                .any
            ) { elements, args in
                let f = try args.function("nextPartialResult")
                var result = args["initialResult"]
                // `reduce(0, +)` over Doubles: Swift types the literal 0 as a Double.
                if case .int(let v) = result, case .double? = elements.first { result = .double(Double(v)) }
                for e in elements { result = try f.call([result, e]) }
                return result
            },
            method("forEach", "Calls `body` on each element.", [.positional("body", transform)], .void) { elements, args in
                let f = try args.function("body")
                for e in elements { _ = try f.call([e]) }
                return .void
            },
            method("contains", "Whether an element equals `element`.", [.positional("element", .any)], .bool) { elements, args in
                let target = args["element"]
                return .bool(try elements.contains { try $0.isEqual(to: target) })
            },
            method("contains", "Whether `predicate` is true for some element.", [.labeled("where", predicate)], .bool) {
                elements, args in
                let f = try args.function("where")
                return .bool(try elements.contains { try f.call([$0]).asBool() })
            },
            method("allSatisfy", "Whether `predicate` is true for every element.", [.positional("predicate", predicate)], .bool) {
                elements, args in
                let f = try args.function("predicate")
                return .bool(try elements.allSatisfy { try f.call([$0]).asBool() })
            },
            method(
                "firstIndex", "The index of the first element equal to `of`, or nil.", [.labeled("of", .any)],
                .optional(.int)
            ) { elements, args in
                let target = args["of"]
                return try elements.firstIndex { try $0.isEqual(to: target) }.map(Value.int) ?? .none
            },
            method(
                "firstIndex", "The index of the first element for which `where` is true, or nil.", [.labeled("where", predicate)],
                .optional(.int)
            ) { elements, args in
                let f = try args.function("where")
                return try elements.firstIndex { try f.call([$0]).asBool() }.map(Value.int) ?? .none
            },
            method("first", "The first element for which `where` is true, or nil.", [.labeled("where", predicate)], .any) {
                elements, args in
                let f = try args.function("where")
                return try elements.first { try f.call([$0]).asBool() } ?? .none
            },
            method("sorted", "The elements in increasing order (numbers or strings).", [], .array(.any)) { elements, _ in
                .array(try sortedValues(elements))
            },
            method(
                "sorted", "The elements ordered by `areInIncreasingOrder`.",
                [.labeled("by", .function(parameters: [.any, .any], returns: .bool))], .array(.any)
            ) { elements, args in
                let f = try args.function("by")
                return .array(try elements.sorted { try f.call([$0, $1]).asBool() })
            },
            method("reversed", "The elements in reverse order.", [], .array(.any)) { elements, _ in .array(elements.reversed()) },
            method("enumerated", "Pairs `(offset, element)`: `for (i, x) in xs.enumerated()`.", [], .array(.tuple([.int, .any]))) {
                elements, _ in
                .array(elements.enumerated().map { .tuple([.int($0.offset), $0.element]) })
            },
            method("min", "The smallest element, or nil.", [], .any) { elements, _ in try sortedValues(elements).first ?? .none },
            method("max", "The largest element, or nil.", [], .any) { elements, _ in try sortedValues(elements).last ?? .none },
            method("prefix", "The first `maxLength` elements.", [.positional("maxLength", .int)], .array(.any)) { elements, args in
                .array(Array(elements.prefix(try nonNegative(args.int("maxLength")))))
            },
            method("suffix", "The last `maxLength` elements.", [.positional("maxLength", .int)], .array(.any)) { elements, args in
                .array(Array(elements.suffix(try nonNegative(args.int("maxLength")))))
            },
            method("dropFirst", "The elements after the first `k`.", [.positional("k", .int, default: 1)], .array(.any)) {
                elements, args in
                .array(Array(elements.dropFirst(try nonNegative(args.int("k")))))
            },
            method("dropLast", "The elements before the last `k`.", [.positional("k", .int, default: 1)], .array(.any)) {
                elements, args in
                .array(Array(elements.dropLast(try nonNegative(args.int("k")))))
            },
            method(
                "joined", "The strings joined with `separator` between them.", [.labeled("separator", .string, default: "")],
                .string
            ) { elements, args in
                let strings = try elements.map { try $0.asString() }, separator = try args.string("separator")
                // The length is summed before the text is built: the parts may share one buffer
                // (`Array(repeating: long, count: n)`) that joining would copy n times.
                var length = separator.count * max(strings.count - 1, 0)
                for s in strings {
                    length += s.count
                    guard length <= Limits.collectionCount else { throw RecipeError.tooLarge("string") }
                }
                try Limits.charge(bytes: length, for: "joined()")
                return .string(strings.joined(separator: separator))
            },
        ]
    }

    private static var editors: [Builtin] {
        func editor(
            _ name: String, _ doc: String, _ parameters: [Builtin.Parameter] = [], _ returns: ValueType = .void,
            _ body: @escaping (inout [Value], Arguments) throws -> Value
        ) -> Builtin {
            Builtin(name, kind: .method("Array"), doc: doc, parameters: parameters, returns: returns, mutating: true) {
                args, _ in
                var elements = try args.receiverValue().asArray()
                let before = elements.count
                let result = try body(&elements, args)
                guard elements.count <= Limits.collectionCount else { throw RecipeError.tooLarge("array") }
                try Limits.charge(elements: elements.count - before, for: "`\(name)`")
                args.receiver = .array(elements)
                return result
            }
        }
        func checkIndex(_ i: Int, _ count: Int, allowEnd: Bool = false) throws {
            guard i >= 0, i < count || (allowEnd && i == count) else {
                throw RecipeError(.runtime, "index \(i) is out of range for an array of \(count) elements")
            }
        }
        return [
            editor("append", "Adds `newElement` at the end.", [.positional("newElement", .any)]) { elements, args in
                elements.append(args["newElement"])
                return .void
            },
            editor("append", "Adds the elements of `contentsOf` at the end.", [.labeled("contentsOf", .any)]) { elements, args in
                elements += try args["contentsOf"].asArray()
                return .void
            },
            editor("insert", "Inserts `newElement` at index `at`.", [.positional("newElement", .any), .labeled("at", .int)]) {
                elements, args in
                let i = try args.int("at")
                try checkIndex(i, elements.count, allowEnd: true)
                elements.insert(args["newElement"], at: i)
                return .void
            },
            editor("remove", "Removes and returns the element at index `at`.", [.labeled("at", .int)], .any) { elements, args in
                let i = try args.int("at")
                try checkIndex(i, elements.count)
                return elements.remove(at: i)
            },
            editor("removeLast", "Removes and returns the last element.", [], .any) { elements, _ in
                guard !elements.isEmpty else { throw RecipeError(.runtime, "`removeLast()` on an empty array") }
                return elements.removeLast()
            },
            editor("removeFirst", "Removes and returns the first element.", [], .any) { elements, _ in
                guard !elements.isEmpty else { throw RecipeError(.runtime, "`removeFirst()` on an empty array") }
                return elements.removeFirst()
            },
            editor("removeAll", "Removes every element.") { elements, _ in
                elements.removeAll()
                return .void
            },
            editor("sort", "Sorts the elements in increasing order.") { elements, _ in
                elements = try sortedValues(elements)
                return .void
            },
            editor("reverse", "Reverses the order of the elements.") { elements, _ in
                elements.reverse()
                return .void
            },
        ]
    }

    private static var dictionaryMembers: [Builtin] {
        func property(
            _ name: String, _ doc: String, _ returns: ValueType,
            _ body: @escaping (RecipeDictionary) throws -> Value
        ) -> Builtin {
            Builtin(name, kind: .property("Dictionary"), doc: doc, returns: returns) { args, _ in
                guard case .dictionary(let d) = try args.receiverValue() else { return .none }
                return try body(d)
            }
        }
        return [
            property("count", "The number of keys.", .int) { .int($0.count) },
            property("isEmpty", "Whether there are no keys.", .bool) { .bool($0.count == 0) },
            property("keys", "The keys, in insertion order.", .array(.any)) { .array($0.keys) },
            property("values", "The values, in insertion order of their keys.", .array(.any)) { .array($0.values) },
            Builtin(
                "removeValue", kind: .method("Dictionary"), doc: "Removes `forKey` and returns its value, or nil.",
                parameters: [.labeled("forKey", .any)], returns: .any, mutating: true
            ) { args, _ in
                guard case .dictionary(var d) = try args.receiverValue() else { return .none }
                let key = args["forKey"]
                let old = try d.value(for: key) ?? .none
                try d.remove(key)
                args.receiver = .dictionary(d)
                return old
            },
        ]
    }
}

/// Values in increasing order; they must all be numbers or all strings.
func sortedValues(_ values: [Value]) throws -> [Value] {
    try values.sorted { a, b in
        guard case .bool(let less) = try Operators.binary(.less, a, b, promote: true).get() else { return false }
        return less
    }
}
