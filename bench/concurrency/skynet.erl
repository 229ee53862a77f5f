%% Skynet: a tree of processes, 10 children each, down to N leaves
%% (1,111,111 processes for N = 1,000,000). Leaf K sends K; every inner
%% process sends its subtree's sum to its parent. Prints N*(N-1)/2
%% (499999500000 for N = 1,000,000). Needs a raised process limit:
%%   erlc skynet.erl && erl -noshell +P 2097152 -run skynet main [N=1000000]
%% (N a power of 10)
-module(skynet).
-export([main/0, main/1]).

main() -> main([]).

main(Args) ->
    N = case Args of
            [] -> 1000000;
            [A | _] -> list_to_integer(A)
        end,
    Main = self(),
    spawn(fun() -> skynet(Main, 0, N) end),
    receive {sum, Sum} -> io:format("~B~n", [Sum]) end,
    erlang:halt(0).

skynet(Parent, Num, 1) ->
    Parent ! {sum, Num};
skynet(Parent, Num, Size) ->
    Self = self(),
    Step = Size div 10,
    [spawn(fun() -> skynet(Self, Num + I * Step, Step) end) || I <- lists:seq(0, 9)],
    Parent ! {sum, collect(10, 0)}.

collect(0, Sum) -> Sum;
collect(K, Sum) -> receive {sum, X} -> collect(K - 1, Sum + X) end.
