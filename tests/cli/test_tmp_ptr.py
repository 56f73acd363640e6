def test_x(pytester):
    pytester.makepyfile("def test_a(): pass")
    r = pytester.runpytest("-p", "no:cacheprovider")
    r.assert_outcomes(passed=1)
