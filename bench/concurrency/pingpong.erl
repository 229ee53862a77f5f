%% Ping-pong: two processes exchange N round trips of messages (Erlang has
%% no channels; each process's mailbox plays the channel). ping sends I
%% (0 .. N-1), pong answers I+1, ping sums the answers: N*(N+1)/2
%% (500000500000 for N = 1,000,000).
%%   erlc pingpong.erl && erl -noshell -run pingpong main [N=1000000]
-module(pingpong).
-export([main/0, main/1]).

main() -> main([]).

main(Args) ->
    N = case Args of
            [] -> 1000000;
            [A | _] -> list_to_integer(A)
        end,
    Main = self(),
    Pong = spawn(fun pong/0),
    spawn(fun() -> Main ! {result, ping(Pong, 0, N, 0)} end),
    receive {result, Sum} -> io:format("~B~n", [Sum]) end,
    erlang:halt(0).

pong() ->
    receive
        {From, X} -> From ! {self(), X + 1}, pong();
        stop -> ok
    end.

ping(Pong, N, N, Sum) ->
    Pong ! stop,
    Sum;
ping(Pong, I, N, Sum) ->
    Pong ! {self(), I},
    receive {Pong, Y} -> ping(Pong, I + 1, N, Sum + Y) end.
